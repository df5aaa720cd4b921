//! Serde helpers that reproduce Go `encoding/json` behaviour clients rely on.

use serde::{Deserialize, Deserializer, Serializer};

/// Go leaves a field at its default when the JSON value is `null`; serde would fail.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

pub fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

pub fn is_false(v: &bool) -> bool {
    !*v
}

/// Go prints a float32 without a fractional part as an integer (`1`, not `1.0`).
pub fn go_float<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        // Go formats float32 with the shortest representation that round-trips as float32.
        let shortest: f64 = format!("{v}").parse().unwrap_or(*v as f64);
        s.serialize_f64(shortest)
    }
}
