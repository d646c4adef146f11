//! The producer capability (`battlescope:kafka/producer`): components publish through the
//! host's shared idempotent producer. The broker must be in the component's
//! `allowed_outbound_hosts` as `kafka://host:port`.

mod host;
