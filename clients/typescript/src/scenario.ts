// Typed client scenario: create → get → list (paginated, filtered) → update → delete against a
// running passenger-api, with documents generated from ../../schema.graphql and ../operations.
// Usage: node dist/scenario.js [BASE_URL]   (API_TOKEN, when set, is sent as bearer token)
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import {
  CreatePassengerDocument,
  DeletePassengerDocument,
  GetPassengerDocument,
  ListPassengersDocument,
  PatchPassengerDocument,
  type PassengerFilter,
} from './gql/graphql.js';

const base = (process.argv[2] ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const token = process.env.API_TOKEN;

async function run<Result, Variables>(document: TypedDocumentNode<Result, Variables>, variables: Variables): Promise<Result> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: Result; errors?: unknown[] };
  if (!response.ok || body.errors?.length || !body.data) {
    throw new Error(`GraphQL request failed (${response.status}): ${JSON.stringify(body.errors ?? body)}`);
  }
  return body.data;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`);
}

async function scenario(): Promise<void> {
  const prefix = `TS-Client-${process.pid}`;
  const ids: string[] = [];
  for (const [i, suffix] of ['A', 'B', 'C'].entries()) {
    const { createPassenger } = await run(CreatePassengerDocument, {
      input: { name: `${prefix}-${suffix}`, sex: 'male', age: 30 + i, survived: false, passengerClass: 3 },
    });
    check(createPassenger.name === `${prefix}-${suffix}` && createPassenger.age === 30 + i, 'created');
    ids.push(createPassenger.id);
  }
  console.log(`created ${ids.length} passengers`);

  const [firstId, secondId] = ids;
  if (!firstId || !secondId) throw new Error('ids missing');
  const { passenger } = await run(GetPassengerDocument, { id: firstId });
  check(passenger?.id === firstId && passenger.passengerClass === 3 && passenger.survived === false, 'get');
  console.log(`got ${firstId}`);

  const filter: PassengerFilter = { name: { startsWith: prefix } };
  const page1 = (await run(ListPassengersDocument, { first: 2, filter })).passengers;
  check(page1.totalCount === 3 && page1.nodes.length === 2 && page1.pageInfo.hasNextPage, 'first page');
  const page2 = (await run(ListPassengersDocument, { first: 2, after: page1.pageInfo.endCursor, filter })).passengers;
  check(page2.nodes.length === 1 && !page2.pageInfo.hasNextPage, 'second page');
  const listed = [...page1.nodes, ...page2.nodes].map((p) => p.id);
  check(JSON.stringify(listed) === JSON.stringify(ids), 'pages in insertion order');
  console.log('listed 2 pages');

  const { patchPassenger } = await run(PatchPassengerDocument, { id: secondId, patch: { fare: 12.5 } });
  check(patchPassenger?.fare === 12.5 && patchPassenger.name === `${prefix}-B`, 'patch');
  console.log(`patched ${secondId}`);

  for (const id of ids) {
    const { deletePassenger } = await run(DeletePassengerDocument, { id });
    check(deletePassenger, 'delete');
  }
  const after = await run(GetPassengerDocument, { id: firstId });
  check(after.passenger === null || after.passenger === undefined, 'deleted passenger is gone');
  const empty = await run(ListPassengersDocument, { first: 2, filter });
  check(empty.passengers.totalCount === 0, 'list empty after delete');
  console.log(`deleted ${ids.length} passengers`);
}

scenario().then(
  () => console.log('typescript client scenario: ok'),
  (error: unknown) => {
    console.error('typescript client scenario failed:', error);
    process.exitCode = 1;
  },
);
