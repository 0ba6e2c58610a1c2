//! The blocking HTTP agent of the CLI's own requests (the signed calls to a stage; the local
//! engine's webhook requests are async, see `local::engine::webhook`): every status is an
//! answer for the caller to judge (a 403 or a 500 is what a probe wants to see, not an
//! error), no redirect is followed (a stage answering 3xx is answered as such), and TLS is
//! rustls with the aws-lc provider the AWS SDK already links.

use std::time::Duration;

/// An agent whose requests end after `timeout`, keeping up to `idle_connections` idle
/// connections (per host and in all) for reuse.
pub fn agent(timeout: Duration, idle_connections: usize) -> ureq::Agent {
    let crypto = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_idle_connections_per_host(idle_connections)
        .max_idle_connections(idle_connections)
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                .unversioned_rustls_crypto_provider(crypto)
                .build(),
        )
        .build()
        .new_agent()
}
