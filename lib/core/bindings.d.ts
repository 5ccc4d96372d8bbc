// The `bindings` package ships no types: it returns the loaded .node module.
declare module 'bindings' {
  function bindings(name: string): unknown;
  export = bindings;
}
