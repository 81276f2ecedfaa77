// A passenger card: a fragment on Passenger that can refetch itself through
// `node(nodeId:)` (the compiler generates PassengerCardRefetchQuery).
const { graphql } = require('relay-runtime');

exports.PassengerCardFragment = graphql`
  fragment PassengerCard_passenger on Passenger
  @refetchable(queryName: "PassengerCardRefetchQuery") {
    id
    name
    age
    fare
    survived
    passengerClass
    version
  }
`;
