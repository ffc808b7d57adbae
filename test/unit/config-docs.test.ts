import fs from 'node:fs';
import { z } from 'zod';
import { CONFIG_DOC, configTable, configVariables, ConfigDocsError, REGENERATE, withConfigTable } from '../../scripts/config-docs';

/**
 * docs/configuration.md's table is generated from the config schema (scripts/config-docs.ts);
 * this fails whenever the two disagree: a variable added, removed, given another default or
 * bounds, or described differently.
 */
test('docs/configuration.md lists every variable as src/config.ts defines it', () => {
  const page = fs.readFileSync(CONFIG_DOC, 'utf8');
  const expected = withConfigTable(page);
  if (expected === page) return;
  const have = new Set(page.split('\n'));
  const want = new Set(expected.split('\n'));
  const rowName = (line: string) => /^\| `([A-Z0-9_]+)`/.exec(line)?.[1] ?? line.slice(0, 60);
  const differing = [...new Set([...want].filter((l) => !have.has(l)).concat([...have].filter((l) => !want.has(l))).map(rowName))];
  throw new Error(`docs/configuration.md disagrees with src/config.ts (${differing.join(', ')}): run \`${REGENERATE}\``);
});

test('a variable without a description stops the generator, naming it', () => {
  const schema = z.object({
    DESCRIBED: z.string().describe('Said on the schema'),
    MAPPED: z.coerce.number().int().min(1).max(64).default(4),
    SILENT: z.string().optional(),
  });
  expect(() => configVariables(schema, { MAPPED: 'Said in the map' })).toThrow(ConfigDocsError);
  expect(() => configVariables(schema, { MAPPED: 'Said in the map' })).toThrow(/no description for SILENT:/);
  expect(() => configVariables(schema, { MAPPED: 'x', SILENT: 'y', GONE: 'z' })).toThrow(/names GONE/);
});

test('defaults, bounds and descriptions come from the schema through its wrappers', () => {
  const schema = z.object({
    URL_VAR: z.string().url().describe('A place'),
    COUNT: z.coerce.number().int().positive().default(200),
    RANGE: z.coerce.number().int().min(1).max(64).default(4),
    HOURS: z.coerce.number().min(0.01).max(24).default(24),
    LEVEL: z.enum(['debug', 'info']).default('info'),
    FLAG: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    LIST: z
      .string()
      .transform((v) => v.split(','))
      .default([]),
    TOKEN: z.string().min(16).optional(),
  });
  const rows = Object.fromEntries(configVariables(schema, { COUNT: 'c', RANGE: 'r', HOURS: 'h', LEVEL: 'l', FLAG: 'f', LIST: 'x', TOKEN: 't' }).map((r) => [r.name, r]));
  expect(rows.URL_VAR).toEqual({ name: 'URL_VAR', default: 'required', values: 'URL', description: 'A place.' });
  expect(rows.COUNT).toMatchObject({ default: '`200`', values: 'integer ≥ 1' });
  expect(rows.RANGE).toMatchObject({ default: '`4`', values: 'integer 1–64' });
  expect(rows.HOURS).toMatchObject({ values: 'number 0.01–24' });
  expect(rows.LEVEL).toMatchObject({ default: '`info`', values: '`debug`, `info`' });
  expect(rows.FLAG).toMatchObject({ default: '`false`', values: '`true`, `false`' });
  expect(rows.LIST).toMatchObject({ default: 'none', values: 'comma-separated list' });
  expect(rows.TOKEN).toMatchObject({ default: 'unset', values: 'text, ≥ 16 characters' });
  expect(configTable(Object.values(rows))).toContain('| `URL_VAR` | required | URL | A place. |');
});
