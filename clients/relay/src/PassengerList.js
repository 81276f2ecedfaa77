// The passenger list, paginated with Relay's cursor connections (the compiler generates
// PassengerListPaginationQuery for usePaginationFragment).
const { graphql } = require('relay-runtime');

exports.PassengerListFragment = graphql`
  fragment PassengerList_query on Query
  @argumentDefinitions(count: { type: "Int", defaultValue: 25 }, cursor: { type: "String" })
  @refetchable(queryName: "PassengerListPaginationQuery") {
    passengers(first: $count, after: $cursor) @connection(key: "PassengerList_passengers") {
      totalCount
      edges {
        node {
          id
          ...PassengerCard_passenger
        }
      }
    }
  }
`;

exports.AppQuery = graphql`
  query PassengerListAppQuery {
    ...PassengerList_query
  }
`;
