//! Global ids (Relay object identification): the URL-safe base64 (no padding) of
//! `<Type>:<key>`, e.g. `Passenger:1b0e…`. Opaque to clients; the type inside tells a
//! passenger's id from another type's.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The type name inside a passenger's global id.
pub const PASSENGER: &str = "Passenger";

/// The global id of the passenger `uuid`.
pub fn passenger_id(uuid: Uuid) -> String {
    let mut text = String::with_capacity(PASSENGER.len() + 37);
    text.push_str(PASSENGER);
    text.push(':');
    text.push_str(uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
    URL_SAFE_NO_PAD.encode(text)
}

/// What a global id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A passenger.
    Passenger(Uuid),
    /// An object of a type this service does not serve.
    Foreign(String),
}

/// Reads a global id; the error says why `id` is not one.
pub fn decode(id: &str) -> std::result::Result<Target, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .map_err(|_| format!("{id:?} is not a global id (nodeId): not base64url"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{id:?} is not a global id (nodeId)"))?;
    let (ty, key) = text.split_once(':').ok_or_else(|| format!("{id:?} is not a global id (nodeId)"))?;
    if ty != PASSENGER {
        return Ok(Target::Foreign(ty.to_owned()));
    }
    let uuid = Uuid::try_parse(key).map_err(|_| format!("{id:?} is a Passenger id without a valid UUID"))?;
    Ok(Target::Passenger(uuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_say_what_is_wrong() {
        let uuid = Uuid::new_v4();
        let id = passenger_id(uuid);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{id}");
        assert_eq!(decode(&id), Ok(Target::Passenger(uuid)));
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Ship:1")), Ok(Target::Foreign("Ship".into())));
        assert!(decode("not base64!").unwrap_err().contains("not base64url"));
        assert!(decode(&URL_SAFE_NO_PAD.encode("Passenger:nope")).unwrap_err().contains("valid UUID"));
        assert!(decode(&URL_SAFE_NO_PAD.encode("no colon")).is_err());
        assert!(decode(&uuid.to_string()).is_err(), "a bare UUID is not a global id");
    }
}
