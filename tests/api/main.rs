//! Integration tests: the real service on port 0 with a real database, real
//! pdfium and real HTTP receivers.

mod account_settings;
mod accuracy;
mod audit_log;
mod auto_templates;
mod blobs;
mod browser;
mod cli;
mod contract;
mod dashboard;
mod dashboard_lifecycle;
mod dashboard_rows;
mod delivery;
mod destinations;
mod faults;
mod helpers;
mod hostile;
mod hosts;
mod jobs;
mod lifecycle;
mod line_items;
mod ocr;
mod outage;
mod peers;
mod quickstart;
mod real_invoices;
mod resilience;
mod rules;
mod scale_out;
mod submission;
mod templates;
mod ui;
mod wake;
mod workers;
mod workspace;
