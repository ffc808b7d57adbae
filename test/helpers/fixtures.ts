import fs from 'node:fs';
import path from 'node:path';

/**
 * The shared platform fixtures (real payloads; provenance in their SOURCES.md).
 * They live in the steering repo's shared/, beside this checkout; PINGBACK_FIXTURES_DIR
 * points elsewhere. Missing fixtures fail the suite: they are what the parsers are held to.
 */
export const FIXTURES_DIR = process.env.PINGBACK_FIXTURES_DIR ?? path.resolve(__dirname, '../../../shared/fixtures/platforms');

export function fixtureFiles(platform: string, prefix = ''): Array<{ name: string; body: any }> {
  const dir = path.join(FIXTURES_DIR, platform);
  if (!fs.existsSync(dir)) throw new Error(`platform fixtures not found at ${dir}: clone beside shared/ or set PINGBACK_FIXTURES_DIR`);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && f.startsWith(prefix));
  if (files.length === 0) throw new Error(`no ${prefix}* fixtures in ${dir}`);
  return files.sort().map((name) => ({ name, body: JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) }));
}
