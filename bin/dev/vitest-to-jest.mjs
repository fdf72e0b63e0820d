#!/usr/bin/env node
// Converts Vitest test files to Jest (@jest/globals), in place. Re-runnable: files without a
// 'vitest' import are left alone. Usage: node bin/dev/vitest-to-jest.mjs [file or folder ...]
// (default: test/). It rewrites:
//   import { ..., vi } from 'vitest'        -> import { ..., jest } from '@jest/globals'
//   vi.fn / spyOn / restoreAllMocks / ...   -> jest.fn / spyOn / restoreAllMocks / ...
//   vi.stubEnv / vi.unstubAllEnvs           -> stubEnv / unstubAllEnvs from test/helpers/env.ts
//   expect(value, message).matcher(...)     -> because(message, () => expect(value).matcher(...))
//                                              (test/helpers/expect-message.ts)
//   expect(value).toBeTypeOf('t')           -> expect(typeof value).toBe('t')
//   .toThrowError( / .toHaveBeenCalledOnce() -> .toThrow( / .toHaveBeenCalledTimes(1)
// Anything else from Vitest (inject, vi.resetModules, vi.mock, vi.useFakeTimers, ...) is reported and the file is
// left unchanged, to be converted by hand; the exit code is then 1.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const HELPERS = path.join(ROOT, 'test/helpers');
const SAME_ON_JEST = new Set(['fn', 'spyOn', 'restoreAllMocks', 'resetAllMocks', 'clearAllMocks', 'isMockFunction', 'mocked']);
const ENV_HELPERS = { stubEnv: 'stubEnv', unstubAllEnvs: 'unstubAllEnvs' };

function filesUnder(target) {
  if (statSync(target).isFile()) return [target];
  return readdirSync(target, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(target, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(full);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [full] : [];
  });
}

function importPath(file, helper) {
  let relative = path.relative(path.dirname(file), path.join(HELPERS, helper)).split(path.sep).join('/');
  if (!relative.startsWith('.')) relative = `./${relative}`;
  return relative;
}

function need(needs, from, name) {
  if (!needs.has(from)) needs.set(from, new Set());
  needs.get(from).add(name);
}

/** The outermost expression of `expect(...).a.b(...).c(...)` that starts at `call`. */
function chainTop(call) {
  let node = call;
  for (;;) {
    const parent = node.parent;
    if (ts.isPropertyAccessExpression(parent) && parent.expression === node) node = parent;
    else if (ts.isCallExpression(parent) && parent.expression === node) node = parent;
    else return node;
  }
}

function isExpectCall(node) {
  return ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'expect';
}

/** One pass: the edits whose ranges do not overlap (nested ones come in the next pass). */
function pass(file, text, problems, needs) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edits = [];
  const add = (start, end, replacement) => {
    if (edits.some((e) => start < e.end && e.start < end)) return;
    edits.push({ start, end, replacement });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text.startsWith('vitest')) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      if (node.moduleSpecifier.text !== 'vitest' || !named || clause.name || clause.isTypeOnly) {
        problems.push(`${file}: import from '${node.moduleSpecifier.text}' needs converting by hand`);
        return;
      }
      const names = named.map((element) => {
        const name = element.name.text;
        if (element.propertyName) problems.push(`${file}: renamed import ${element.propertyName.text} as ${name}`);
        if (name === 'vi') return 'jest';
        if (['describe', 'it', 'test', 'expect', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach'].includes(name)) return name;
        problems.push(`${file}: '${name}' from vitest has no automatic Jest equivalent`);
        return name;
      });
      add(node.getStart(source), node.getEnd(), `import { ${names.join(', ')} } from '@jest/globals';`);
      return;
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'vi') {
      const member = node.name.text;
      if (SAME_ON_JEST.has(member)) add(node.getStart(source), node.getEnd(), `jest.${member}`);
      else if (member in ENV_HELPERS) {
        add(node.getStart(source), node.getEnd(), ENV_HELPERS[member]);
        need(needs, importPath(file, 'env.js'), ENV_HELPERS[member]);
      } else if (member === 'resetModules') {
        problems.push(`${file}: vi.resetModules() + import('x.js') becomes import(\`x.js\${freshQuery()}\`) (test/helpers/fresh-module.ts): Jest's resetModules would reload the mocked AWS SDK too`);
      } else problems.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}: vi.${member} has no automatic Jest equivalent`);
    }
    if (ts.isPropertyAccessExpression(node) && ts.isCallExpression(node.parent) && node.parent.expression === node) {
      const matcher = node.name.text;
      if (matcher === 'toThrowError') add(node.name.getStart(source), node.name.getEnd(), 'toThrow');
      if (matcher === 'toHaveBeenCalledOnce' && node.parent.arguments.length === 0) add(node.name.getStart(source), node.parent.getEnd(), 'toHaveBeenCalledTimes(1)');
      if (matcher === 'toBeTypeOf') {
        let root = node.expression;
        while (ts.isPropertyAccessExpression(root) || (ts.isCallExpression(root) && !isExpectCall(root))) root = root.expression;
        if (isExpectCall(root) && root.arguments.length >= 1) {
          const value = root.arguments[0];
          const simple = ts.isIdentifier(value) || ts.isPropertyAccessExpression(value) || ts.isElementAccessExpression(value) || ts.isCallExpression(value);
          add(value.getStart(source), value.getEnd(), simple ? `typeof ${value.getText(source)}` : `typeof (${value.getText(source)})`);
          add(node.name.getStart(source), node.name.getEnd(), 'toBe');
        } else if (member === 'resetModules') {
        problems.push(`${file}: vi.resetModules() + import('x.js') becomes import(\`x.js\${freshQuery()}\`) (test/helpers/fresh-module.ts): Jest's resetModules would reload the mocked AWS SDK too`);
      } else problems.push(`${file}: toBeTypeOf on something other than expect(...)`);
      }
    }
    if (isExpectCall(node) && node.arguments.length === 2) {
      const top = chainTop(node);
      const [value, message] = node.arguments;
      const before = text.slice(top.getStart(source), value.getEnd());
      const after = text.slice(node.getEnd() - 1, top.getEnd());
      add(top.getStart(source), top.getEnd(), `because(${message.getText(source)}, () => ${before}${after})`);
      need(needs, importPath(file, 'expect-message.js'), 'because');
      return; // the chain's own edits come in the next pass
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const edit of edits) out = out.slice(0, edit.start) + edit.replacement + out.slice(edit.end);
  return { out, source };
}

function convert(file) {
  const original = readFileSync(file, 'utf8');
  if (!/from ['"]vitest/.test(original)) return 'skipped';
  const problems = [];
  const needs = new Map();
  let text = original;
  for (let round = 0; round < 10; round += 1) {
    const { out } = pass(file, text, problems, needs);
    if (out === text) break;
    text = out;
  }
  if (problems.length > 0) {
    for (const problem of new Set(problems)) process.stderr.write(`${problem}\n`);
    return 'needs-hand';
  }
  // `vi` may have been imported only for what now comes from the helpers.
  if (!/\bjest\./.test(text)) text = text.replace(/(import \{[^}]*?)(, jest\b|\bjest, )([^}]*\} from '@jest\/globals';)/, '$1$3');
  const missing = [...needs]
    .map(([from, names]) => [from, [...names].filter((name) => !new RegExp(`import \\{[^}]*\\b${name}\\b[^}]*\\} from '${from.replace(/[.]/g, '\\.')}'`).test(text))])
    .filter(([, names]) => names.length > 0)
    .map(([from, names]) => `import { ${names.sort().join(', ')} } from '${from}';`);
  if (missing.length > 0) {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const imports = source.statements.filter(ts.isImportDeclaration);
    const at = imports.length > 0 ? imports.at(-1).getEnd() : 0;
    text = `${text.slice(0, at)}\n${missing.join('\n')}${text.slice(at)}`;
  }
  writeFileSync(file, text);
  return 'converted';
}

const targets = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [path.join(ROOT, 'test')];
const results = { converted: 0, skipped: 0, 'needs-hand': 0 };
for (const target of targets) for (const file of filesUnder(path.resolve(target))) results[convert(file)] += 1;
process.stdout.write(`vitest-to-jest: ${results.converted} converted, ${results['needs-hand']} need converting by hand, ${results.skipped} without vitest\n`);
process.exitCode = results['needs-hand'] > 0 ? 1 : 0;
