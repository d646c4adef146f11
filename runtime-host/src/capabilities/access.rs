//! What one component may reach, as every capability checks it: the component's id (for the
//! log line a denial writes), its `allowed_outbound_hosts` and its key-value store labels.

use super::allowed_hosts::AllowList;
use std::collections::BTreeSet;

#[derive(Debug)]
pub struct Access {
    pub component: String,
    pub allowed_hosts: AllowList,
    pub key_value_stores: BTreeSet<String>,
}
