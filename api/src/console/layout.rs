//! The page every console view sits in: navigation, who is signed in, the
//! sign-out form.

use booking::model::Page;
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
                            a href="/console/roaming" { "Roaming" }
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

/// `s` as one path segment or query value.
pub(super) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A form's CSRF field.
pub(super) fn csrf(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.csrf()); }
}

/// A time as operators read it: UTC, to the second.
pub(super) fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// One page of a long list: which (from 1) and how many rows a page holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct PageNo {
    number: u32,
    size: u32,
}

impl PageNo {
    /// Page `asked` (from 1; the first when absent or 0) of `size` rows.
    pub(super) fn new(asked: Option<u32>, size: u32) -> Self {
        Self {
            number: asked.unwrap_or(1).max(1),
            size,
        }
    }

    /// The rows to read.
    pub(super) fn rows(self) -> Page {
        Page {
            limit: self.size,
            offset: u64::from(self.number - 1) * u64::from(self.size),
        }
    }

    /// The navigation among the pages of `total` rows; `base` is the list's
    /// address, to which `page=N` is added.
    pub(super) fn nav(self, total: u64, base: &str) -> Markup {
        let pages = total.div_ceil(u64::from(self.size)).max(1);
        let join = if base.contains('?') { '&' } else { '?' };
        let n = self.number;
        html! {
            nav.pages aria-label="Pages" {
                @if n > 1 { a href={ (base) (join) "page=" (n - 1) } { "← Previous" } }
                span { "Page " (n) " of " (pages) " · " (total) " in all" }
                @if u64::from(n) < pages { a href={ (base) (join) "page=" (n + 1) } { "Next →" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_its_rows_and_links_its_neighbours() {
        let third = PageNo::new(Some(3), 50);
        assert_eq!((third.rows().limit, third.rows().offset), (50, 100));
        let nav = third.nav(120, "/x?a=1").0;
        assert!(
            nav.contains("/x?a=1&amp;page=2") && !nav.contains("Next"),
            "{nav}"
        );
        assert!(nav.contains("Page 3 of 3 · 120 in all"));
        let first = PageNo::new(Some(0), 50);
        assert_eq!(first.rows().offset, 0);
        let nav = first.nav(120, "/x").0;
        assert!(nav.contains("/x?page=2") && !nav.contains("Previous"));
        assert!(PageNo::new(None, 50).nav(0, "/x").0.contains("Page 1 of 1"));
    }
}
