//! The page every console view sits in: navigation, who is signed in, the
//! sign-out form.

use maud::{DOCTYPE, Markup, html};

use super::session::Signed;

/// A whole page titled `title`; with `signed`, the navigation and the
/// operator's name and sign-out form.
pub(super) fn page(title: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · evgate console" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                @if let Some(signed) = signed {
                    header {
                        a.brand href="/console" { "evgate" }
                        nav aria-label="Main" {
                            a href="/console" { "Overview" }
                            a href="/console/stations" { "Stations" }
                            a href="/console/chargers" { "Chargers" }
                            a href="/console/bookings" { "Bookings" }
                            a href="/console/id-tags" { "Id tags" }
                            a href="/console/unassigned" { "Unassigned" }
                            a href="/console/vendors" { "Vendors" }
                            a href="/console/audit" { "Audit log" }
                        }
                        div.who {
                            span #operator { (signed.operator.name) " · " (signed.operator.role) }
                            a href="/console/password" { "Password" }
                            form method="post" action="/console/sign-out" {
                                input type="hidden" name="csrf" value=(signed.csrf());
                                button type="submit" #sign-out { "Sign out" }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A form's CSRF field.
pub(super) fn csrf(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.csrf()); }
}

/// A time as operators read it: UTC, to the second.
pub(super) fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
