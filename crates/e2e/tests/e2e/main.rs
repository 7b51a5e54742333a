//! End-to-end tests, one binary: the real `haven-server`, the release app, and real
//! browsers over W3C WebDriver.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod audit;
mod burst;
mod embedding;
mod hosts;
mod identity;
mod keyboard;
mod messaging;
mod quotas;
mod screens;
mod secure_boot;
mod visits;
