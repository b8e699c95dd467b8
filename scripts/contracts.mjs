#!/usr/bin/env node
// Compiles the TriggerX Solidity contracts with the pinned npm `solc` (no network, no imports from
// outside triggerx-core/contracts/src) and writes or checks the committed artifacts.
//
//   node scripts/contracts.mjs build   write triggerx-core/contracts/artifacts/<Name>.json
//   node scripts/contracts.mjs check   recompile in memory; exit 1 naming stale/missing/orphan artifacts
//
// Each source file `src/<Name>.sol` must define a contract `<Name>`; that contract gets one artifact
// (other contracts/interfaces in the file are helpers). Artifacts are byte-identical across rebuilds:
// fixed settings, fixed key order, sorted files, relative source names, trailing newline.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(repo, 'triggerx-core', 'contracts', 'src');
const outDir = join(repo, 'triggerx-core', 'contracts', 'artifacts');

/** The compiler version every artifact is built with (package.json pins the same). */
const SOLC_VERSION = '0.8.37';

/** Fixed compiler settings. anvil 1.7 runs every hardfork up to osaka, so cancun code runs there. */
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  metadata: { bytecodeHash: 'none' },
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
};

function fail(message) {
  process.stderr.write(`contracts: ${message}\n`);
  process.exit(1);
}

function loadSolc() {
  let solc;
  try {
    solc = require('solc');
  } catch {
    fail('the npm package solc is not installed; run scripts/setup.sh');
  }
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    fail(`solc ${version} is installed, ${SOLC_VERSION} is pinned; run scripts/setup.sh`);
  }
  return solc;
}

function readSources() {
  const files = readdirSync(srcDir)
    .filter((f) => f.endsWith('.sol'))
    .sort();
  if (files.length === 0) fail(`no .sol files in ${srcDir}`);
  const sources = {};
  for (const file of files) sources[file] = { content: readFileSync(join(srcDir, file), 'utf8') };
  return sources;
}

/** Compiles every source and returns a map `<Name>.json` -> artifact text. */
function compileAll() {
  const solc = loadSolc();
  const sources = readSources();
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  // Only files of src/ are reachable (they are all in `sources`); everything else is refused.
  const findImports = (path) => ({ error: `import ${path} is outside triggerx-core/contracts/src` });
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  const diagnostics = output.errors ?? [];
  for (const d of diagnostics) process.stderr.write(`${d.formattedMessage ?? d.message}\n`);
  if (diagnostics.length > 0) {
    fail(`solc reported ${diagnostics.length} error(s)/warning(s); the contracts must compile cleanly`);
  }

  const artifacts = new Map();
  for (const file of Object.keys(sources)) {
    const name = file.slice(0, -'.sol'.length);
    const contract = output.contracts?.[file]?.[name];
    if (!contract) fail(`${file} must define a contract named ${name}`);
    const artifact = {
      contractName: name,
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}`,
      deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      sourceHash: `sha256:${createHash('sha256').update(sources[file].content).digest('hex')}`,
      compiler: solc.version(),
      settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion, metadata: SETTINGS.metadata },
    };
    artifacts.set(`${name}.json`, `${JSON.stringify(artifact, null, 2)}\n`);
  }
  return artifacts;
}

function existingArtifacts() {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function build() {
  const artifacts = compileAll();
  mkdirSync(outDir, { recursive: true });
  let written = 0;
  for (const [file, text] of artifacts) {
    const path = join(outDir, file);
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    writeFileSync(path, text);
    written += 1;
    process.stdout.write(`contracts: wrote artifacts/${file}\n`);
  }
  for (const file of existingArtifacts()) {
    if (!artifacts.has(file)) {
      unlinkSync(join(outDir, file));
      process.stdout.write(`contracts: removed orphan artifacts/${file}\n`);
    }
  }
  process.stdout.write(`contracts: ${artifacts.size} artifact(s), ${written} updated\n`);
}

function check() {
  const artifacts = compileAll();
  const problems = [];
  for (const [file, text] of artifacts) {
    const path = join(outDir, file);
    if (!existsSync(path)) problems.push(`artifacts/${file} is missing`);
    else if (readFileSync(path, 'utf8') !== text) problems.push(`artifacts/${file} is stale`);
  }
  for (const file of existingArtifacts()) {
    if (!artifacts.has(file)) problems.push(`artifacts/${file} has no source src/${file.replace(/\.json$/, '.sol')}`);
  }
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`contracts: ${p}\n`);
    fail(`${problems.length} artifact(s) out of date; run: node scripts/contracts.mjs build`);
  }
  process.stdout.write(`contracts: ${artifacts.size} artifact(s) up to date\n`);
}

const command = process.argv[2];
if (command === 'build') build();
else if (command === 'check') check();
else fail('usage: node scripts/contracts.mjs build|check');
