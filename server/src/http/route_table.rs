//! The shape of the route table and how a request path is looked up in it. One table (in
//! `routes`) builds the router, decides the trailing-slash redirect and tells the gate who
//! may call each route, so the three cannot disagree.

use axum::http::Method;
use axum::routing::MethodFilter;

use super::extract::is_hex_id;
use crate::auth::Role;

/// Who may call an endpoint, from least to most restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// No token and no admin-mode check (`/hello`, `/metrics`), as in heketi.
    Public,
    /// `user` tokens too; the handler checks the object asked for (e.g. the volume's owner).
    User,
    /// `admin` tokens only.
    Admin,
}

impl Access {
    /// Whether an authenticated `role` gets past the role check.
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Public | Access::User => true,
            Access::Admin => role == Role::Admin,
        }
    }
}

/// The methods heketi's API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    /// The router's filter; for GET it also serves HEAD, as axum's `get` does.
    pub fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    /// Exactly this method: a HEAD is not a GET for [`access`].
    fn is(self, method: &Method) -> bool {
        *method
            == match self {
                Verb::Get => Method::GET,
                Verb::Post => Method::POST,
                Verb::Delete => Method::DELETE,
            }
    }
}

/// One method on one path pattern. `{id}` in a pattern stands for a hex object id.
#[derive(Debug)]
pub struct Endpoint<H> {
    pub verb: Verb,
    pub pattern: &'static str,
    pub access: Access,
    pub handler: H,
}

/// Whether `path` is an instance of `pattern`, segment by segment.
pub fn matches(pattern: &str, path: &str) -> bool {
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w == g || (w == "{id}" && is_hex_id(g)) => {}
            _ => return false,
        }
    }
}

/// Whether some endpoint serves `path`, with any method.
pub fn is_route<H>(table: &[Endpoint<H>], path: &str) -> bool {
    table.iter().any(|e| matches(e.pattern, path))
}

/// Who may send `method` to `path`: the endpoint for that method decides. A method the path
/// has no endpoint for (the router answers 405, or a HEAD the GET handler answers) needs the
/// strictest access among the path's endpoints, and a path no endpoint serves needs admin: a
/// `user` token is only ever let through where every method of the path is open to it.
pub fn access<H>(table: &[Endpoint<H>], method: &Method, path: &str) -> Access {
    let mut strictest = None;
    for e in table.iter().filter(|e| matches(e.pattern, path)) {
        if e.verb.is(method) {
            return e.access;
        }
        strictest = strictest.max(Some(e.access));
    }
    strictest.unwrap_or(Access::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(verb: Verb, pattern: &'static str, access: Access) -> Endpoint<()> {
        Endpoint {
            verb,
            pattern,
            access,
            handler: (),
        }
    }

    #[test]
    fn patterns_match_hex_ids_only() {
        assert!(matches("/clusters", "/clusters"));
        assert!(matches(
            "/volumes/{id}/expand",
            "/volumes/abcDEF0123/expand"
        ));
        for (pattern, path) in [
            ("/volumes/{id}", "/volumes/xyz"),
            ("/volumes/{id}", "/volumes/"),
            ("/volumes/{id}", "/volumes/ab/"),
            ("/volumes/{id}", "/volumes"),
            ("/volumes/{id}", "//volumes/ab"),
            ("/volumes/{id}", "/volumes/%61b"),
            ("/clusters", "/clusters/"),
            ("/clusters", "/Clusters"),
            ("/clusters", ""),
        ] {
            assert!(!matches(pattern, path), "{pattern} {path}");
        }
    }

    #[test]
    fn access_by_method_then_by_path() {
        let table = [
            ep(Verb::Get, "/open", Access::Public),
            ep(Verb::Post, "/mine", Access::User),
            ep(Verb::Get, "/mine", Access::User),
            ep(Verb::Get, "/obj/{id}", Access::User),
            ep(Verb::Delete, "/obj/{id}", Access::Admin),
            ep(Verb::Post, "/obj/{id}/x", Access::Admin),
        ];
        let a = |m: Method, p: &str| access(&table, &m, p);
        assert_eq!(a(Method::GET, "/open"), Access::Public);
        assert_eq!(a(Method::POST, "/open"), Access::Public);
        assert_eq!(a(Method::POST, "/mine"), Access::User);
        // Methods the path has no endpoint for: open to a user only where all are.
        assert_eq!(a(Method::PUT, "/mine"), Access::User);
        assert_eq!(a(Method::HEAD, "/mine"), Access::User);
        assert_eq!(a(Method::GET, "/obj/ab12"), Access::User);
        assert_eq!(a(Method::DELETE, "/obj/ab12"), Access::Admin);
        assert_eq!(a(Method::HEAD, "/obj/ab12"), Access::Admin);
        assert_eq!(a(Method::PUT, "/obj/ab12"), Access::Admin);
        assert_eq!(a(Method::POST, "/obj/ab12/x"), Access::Admin);
        // No endpoint at all: admin (so a user token gets 401, as heketi answers).
        for p in ["/nothing", "/obj/xyz", "/mine/", "/open/", "/obj/ab12/"] {
            assert_eq!(a(Method::GET, p), Access::Admin, "{p}");
        }
        assert!(is_route(&table, "/obj/ab12"));
        assert!(!is_route(&table, "/obj/xyz"));
    }

    #[test]
    fn who_is_admitted() {
        assert!(Access::Public.admits(Role::User));
        assert!(Access::User.admits(Role::User));
        assert!(Access::User.admits(Role::Admin));
        assert!(Access::Admin.admits(Role::Admin));
        assert!(!Access::Admin.admits(Role::User));
    }
}
