#!/bin/sh
# npm's "prepare": compiles the TypeScript and bundles the CLI, after `npm ci`
# on a checkout and while `npm pack`/`npm publish` make the tarball. A tarball
# gets no source maps: it ships no TypeScript sources for them to lead to.
set -e
case "${npm_command:-}" in
  pack|publish) exec npm run build:release ;;
  *) exec npm run build:ts ;;
esac
