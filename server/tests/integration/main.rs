#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Integration tests: the real server over HTTP on both databases, and the storage
//! contract run directly against both databases.

mod support;

mod accounts;
mod api;
mod authz;
mod backup;
mod binary;
mod booking;
mod caldav;
mod calendar;
mod changes;
mod every_write;
mod google;
mod interop;
mod live;
mod mail;
mod notifications;
mod notion;
mod oidc;
mod openapi;
mod ops;
mod outbound;
mod scheduling_host;
mod search;
mod security;
mod storage;
mod subscriptions;
mod tasks;
