#!/usr/bin/env node
'use strict';
// Lists the addon's C++ sources for binding.gyp (CMakeLists.txt globs the same folder).
const fs = require('fs');
const path = require('path');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.name.endsWith('.cpp') ? [full] : [];
  });
}

const root = path.join(__dirname, '..');
process.stdout.write(walk(path.join(root, 'native')).map((f) => path.relative(root, f)).sort().join(' '));
