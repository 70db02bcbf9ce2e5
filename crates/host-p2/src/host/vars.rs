//! Configuration from `wasi:config/store` (Spin serves it from the application's variables;
//! under wasmtime the key-value shim serves it from environment variables, the name upper-cased).

use std::collections::HashMap;

use kre_core::Config;
use kre_core::config::VARIABLES;

use crate::bindings::wasi::config::store;

pub fn load() -> Result<Config, String> {
    let mut values = HashMap::new();
    for (name, _) in VARIABLES {
        match store::get(name) {
            Ok(Some(v)) => {
                values.insert(*name, v);
            }
            Ok(None) => {}
            Err(e) => return Err(format!("variable {name}: {e:?}")),
        }
    }
    Config::from_lookup(|name| values.get(name).cloned())
}
