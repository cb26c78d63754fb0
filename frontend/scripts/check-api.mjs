// Fails when src/api/schema.d.ts no longer matches ../schemas/openapi.json (run `npm run gen:api`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'fieldscope-api-'));
const out = join(dir, 'schema.d.ts');
try {
  execFileSync('npx', ['openapi-typescript', '../schemas/openapi.json', '-o', out], { stdio: 'pipe' });
  const fresh = readFileSync(out, 'utf8');
  const committed = readFileSync('src/api/schema.d.ts', 'utf8');
  if (fresh !== committed) {
    console.error('frontend/src/api/schema.d.ts is out of date with schemas/openapi.json: run `npm run gen:api` (or ./dev openapi) and commit it.');
    process.exit(1);
  }
  console.log('API types match schemas/openapi.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
