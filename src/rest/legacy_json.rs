//! The legacy service's JSON bytes (what Flask's `jsonify` produced), written by
//! [`crate::json`]'s legacy form.

pub use crate::json::{encode, write_float, write_string, write_value};
