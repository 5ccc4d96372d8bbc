// The pipewright command's entry point, the file scripts/bundle-cli.js
// bundles (with everything it loads) into dist/cli/pipewright.js.
import { main } from './main';
import { runAsProcess } from './process-entry';

runAsProcess(main);
