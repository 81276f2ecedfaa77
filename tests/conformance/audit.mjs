// Runs the graphql-http audit suite (the GraphQL-over-HTTP specification's MUST, SHOULD and
// MAY requirements) against a live server and fails on any MUST or SHOULD that does not pass.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs GRAPHQL_URL');
  process.exit(2);
}
const results = await auditServer({ url });
const tally = { MUST: { ok: 0, all: 0 }, SHOULD: { ok: 0, all: 0 }, MAY: { ok: 0, all: 0 } };
let failures = 0;
for (const result of results) {
  const level = result.name.split(' ')[0];
  tally[level].all += 1;
  if (result.status === 'ok') {
    tally[level].ok += 1;
    continue;
  }
  console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
  if (level === 'MUST' || level === 'SHOULD') failures += 1;
}
for (const [level, { ok, all }] of Object.entries(tally)) console.log(`${level}: ${ok}/${all} pass`);
process.exit(failures === 0 ? 0 : 1);
