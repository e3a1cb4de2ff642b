#!/usr/bin/env node
// crosslink's command line: the compiled entry point lives in dist/ (built by `npm install` / `npm run build`).
import { main } from "../dist/src/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
