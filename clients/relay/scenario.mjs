// Runs the queries relay-compiler generated from src/ against a live passenger-api, through
// relay-runtime's own environment, store and connection handler — what usePaginationFragment
// and useRefetchableFragment do in a React app:
//   1. the app query, then PassengerListPaginationQuery page after page until hasNextPage is
//      false: the connection holds every passenger once, in order;
//   2. a passenger changed behind the app's back, then PassengerCardRefetchQuery with its
//      nodeId: the store's record shows the change.
// Usage: node scenario.mjs http://127.0.0.1:8080
import relay from 'relay-runtime';

import AppQuery from './__generated__/PassengerListAppQuery.graphql.js';
import ListFragment from './__generated__/PassengerList_query.graphql.js';
import PaginationQuery from './__generated__/PassengerListPaginationQuery.graphql.js';
import CardFragment from './__generated__/PassengerCard_passenger.graphql.js';
import RefetchQuery from './__generated__/PassengerCardRefetchQuery.graphql.js';

const { Environment, Network, RecordSource, Store, fetchQuery, getSelector } = relay;

const base = process.argv[2];
if (!base) throw new Error('usage: node scenario.mjs <server base URL>');

async function post(text, variables) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: text, variables }),
  });
  const json = await response.json();
  if (!response.ok || json.errors) throw new Error(`${response.status}: ${JSON.stringify(json)}`);
  return json;
}

const environment = new Environment({
  network: Network.create((params, variables) => post(params.text, variables)),
  store: new Store(new RecordSource()),
});

function check(ok, message) {
  if (!ok) throw new Error(`FAILED: ${message}`);
  console.log(`ok - ${message}`);
}

/** The list fragment as a component would read it. */
function readList() {
  const operation = relay.createOperationDescriptor(AppQuery, {});
  const data = environment.lookup(operation.fragment).data;
  return environment.lookup(getSelector(ListFragment, data)).data.passengers;
}

// 1. Pagination.
await fetchQuery(environment, AppQuery, {}).toPromise();
let list = readList();
const total = list.totalCount;
check(list.edges.length === Math.min(25, total), `first page holds ${list.edges.length} of ${total} passengers`);
let pages = 1;
for (;;) {
  const operation = relay.createOperationDescriptor(AppQuery, {});
  const connection = environment.lookup(operation.fragment).data;
  const pageInfo = environment.lookup(getSelector(ListFragment, connection)).data.passengers.pageInfo;
  if (!pageInfo.hasNextPage) break;
  // What loadNext(100) sends: the pagination query after the connection's end cursor.
  await fetchQuery(environment, PaginationQuery, { count: 100, cursor: pageInfo.endCursor }).toPromise();
  pages += 1;
  if (pages > 1000) throw new Error('pagination does not end');
}
list = readList();
const ids = list.edges.map((edge) => edge.node.id);
check(ids.length === total && new Set(ids).size === total, `${pages} pages merged into one connection of ${total} distinct passengers`);
const expected = (await post('{ passengers(first: 1000) { nodes { id } } }', {})).data.passengers.nodes.map((n) => n.id);
check(expected.length < 1000 ? JSON.stringify(expected) === JSON.stringify(ids) : ids.length >= 1000, 'the connection is in the list order');

// 2. Refetch one passenger by its global id.
const ref = list.edges[0].node;
const card = environment.lookup(getSelector(CardFragment, ref)).data;
check(typeof card.nodeId === 'string' && card.nodeId.length > 0, `the card has a nodeId (${card.nodeId})`);
const renamed = `${card.name ?? 'Someone'} (renamed by the Relay scenario)`;
await post('mutation($id: UUID!, $name: String) { patchPassenger(id: $id, patch: { name: $name }) { version } }', {
  id: card.id,
  name: renamed,
});
check(environment.lookup(getSelector(CardFragment, ref)).data.name === card.name, 'the store still holds the old name');
// What refetch({}) sends for a @refetchable fragment on a Node: node(nodeId:) with its nodeId.
const refetched = await fetchQuery(environment, RefetchQuery, { nodeId: card.nodeId }).toPromise();
check(refetched.node && refetched.node.__id === ref.__id, 'node(nodeId:) answered the same record of the store');
const fresh = environment.lookup(getSelector(CardFragment, ref)).data;
check(fresh.name === renamed && fresh.version === card.version + 1, `the refetch updated the card in place (version ${fresh.version})`);
// Put the name back, so that the scenario can run again on the same server.
await post('mutation($id: UUID!, $name: String) { patchPassenger(id: $id, patch: { name: $name }) { version } }', {
  id: card.id,
  name: card.name,
});
console.log('relay scenario: all checks passed');
