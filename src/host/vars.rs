//! Configuration from Spin variables (`spin:variables`). Under wasmtime the key-value shim exports
//! the same interface from environment variables (the name upper-cased).

use std::collections::HashMap;

use kre_core::Config;
use kre_core::config::VARIABLES;

pub async fn load() -> Result<Config, String> {
    let mut values = HashMap::new();
    for (name, _) in VARIABLES {
        match spin_sdk::variables::get(name).await {
            Ok(v) => {
                values.insert(*name, v);
            }
            // Undefined: the default applies. Anything else is a misconfigured host: say so.
            Err(spin_sdk::variables::Error::Undefined(_)) => {}
            Err(e) => return Err(format!("variable {name}: {e:?}")),
        }
    }
    Config::from_lookup(|name| values.get(name).cloned())
}
