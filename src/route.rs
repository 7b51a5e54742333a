//! The app's addresses, parsed once into a [`Route`] when the path changes, so views
//! match on a type instead of comparing strings. Pure: no browser APIs, tested on its
//! own. The URL holds only which view is open and, for a record, the patient's opaque id
//! (never names or anything typed).

use haven_protocol::access::View;
use haven_protocol::identity::Id;

/// Where the app is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: sign-in, or the role's first view once signed in.
    Home,
    /// `/join`: an invitation link (its token is in the fragment, read once by sign-in).
    Join,
    /// One of the views in the permission table.
    View(View),
    /// `/patients/<id>`: a patient's record.
    PatientRecord(Id),
    /// Anything else.
    NotFound,
}

const RECORD_PREFIX: &str = "/patients/";

impl Route {
    pub fn parse(path: &str) -> Route {
        match path {
            "/" | "" => return Route::Home,
            "/join" => return Route::Join,
            _ => {}
        }
        if let Some(view) = View::from_path(path) {
            return Route::View(view);
        }
        match path.strip_prefix(RECORD_PREFIX).map(Id::parse) {
            Some(Ok(id)) => Route::PatientRecord(id),
            _ => Route::NotFound,
        }
    }

    /// The address of this route (`NotFound` has none of its own: home).
    pub fn path(&self) -> String {
        match self {
            Route::Home | Route::NotFound => "/".to_owned(),
            Route::Join => "/join".to_owned(),
            Route::View(view) => view.path().to_owned(),
            Route::PatientRecord(id) => format!("{RECORD_PREFIX}{id}"),
        }
    }

    /// The view whose navigation entry is current on this route: a record belongs to
    /// the clinician's patients.
    pub fn section(&self) -> Option<View> {
        match self {
            Route::View(view) => Some(*view),
            Route::PatientRecord(_) => Some(View::MyPatients),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn every_view_round_trips_through_its_path() {
        for view in View::ALL {
            let route = Route::parse(view.path());
            assert_eq!(route, Route::View(view));
            assert_eq!(route.path(), view.path());
        }
    }

    #[wasm_bindgen_test]
    fn records_need_a_well_formed_id() {
        let id = "0123456789abcdef0123456789abcdef";
        let route = Route::parse(&format!("/patients/{id}"));
        assert!(matches!(&route, Route::PatientRecord(i) if i.as_str() == id));
        assert_eq!(route.path(), format!("/patients/{id}"));
        assert_eq!(route.section(), Some(View::MyPatients));
        for bad in [
            "/patients/",
            "/patients/0123",
            "/patients/0123456789ABCDEF0123456789ABCDEF",
            "/patients/0123456789abcdef0123456789abcdef/x",
            "/patients/../admin/users",
        ] {
            assert_eq!(Route::parse(bad), Route::NotFound, "{bad}");
        }
    }

    #[wasm_bindgen_test]
    fn home_join_and_unknown_paths() {
        assert_eq!(Route::parse("/"), Route::Home);
        assert_eq!(Route::parse("/join"), Route::Join);
        for unknown in ["/admin", "/admin/users/", "/AUDIT", "/audit?x", "//audit"] {
            assert_eq!(Route::parse(unknown), Route::NotFound, "{unknown}");
        }
        assert_eq!(Route::NotFound.path(), "/");
    }
}
