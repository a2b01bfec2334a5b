//! WebDAV's XML: reading request bodies (no DTDs, a bounded number of nodes) and writing
//! `multistatus` answers with the namespaces CalDAV clients expect.

use std::fmt::Write as _;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CS: &str = "http://calendarserver.org/ns/";
pub const ICAL: &str = "http://apple.com/ns/ical/";

/// A property's or element's qualified name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    pub ns: String,
    pub local: String,
}

impl Name {
    pub fn new(ns: &str, local: &str) -> Self {
        Self { ns: ns.to_owned(), local: local.to_owned() }
    }

    pub fn of(node: roxmltree::Node<'_, '_>) -> Self {
        Self::new(node.tag_name().namespace().unwrap_or(""), node.tag_name().name())
    }

    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// How storage keeps it: `{namespace}local`, as in Clark notation.
    pub fn clark(&self) -> String {
        format!("{{{}}}{}", self.ns, self.local)
    }

    pub fn from_clark(text: &str) -> Option<Self> {
        let rest = text.strip_prefix('{')?;
        let (ns, local) = rest.split_once('}')?;
        Some(Self::new(ns, local))
    }

    /// The element, empty or holding `inner` (already XML).
    pub fn element(&self, inner: &str) -> String {
        let (open, close) = match prefix(&self.ns) {
            Some(p) => (format!("{p}:{}", self.local), format!("{p}:{}", self.local)),
            None => (format!("x:{} xmlns:x=\"{}\"", self.local, escape(&self.ns)), format!("x:{}", self.local)),
        };
        if inner.is_empty() { format!("<{open}/>") } else { format!("<{open}>{inner}</{close}>") }
    }
}

fn prefix(ns: &str) -> Option<&'static str> {
    match ns {
        DAV => Some("d"),
        CALDAV => Some("c"),
        CS => Some("cs"),
        ICAL => Some("ical"),
        _ => None,
    }
}

/// A request body as a tree; a DTD, a malformed document or more than 20,000 nodes is an
/// error with its reason.
pub fn parse(body: &str) -> Result<roxmltree::Document<'_>, String> {
    let options = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: 20_000, entity_resolver: None };
    roxmltree::Document::parse_with_options(body, options).map_err(|e| format!("The XML body cannot be read: {e}."))
}

/// The element children of `node`.
pub fn elements<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children().filter(roxmltree::Node::is_element)
}

/// The first element child of `node` named `ns`:`local`.
pub fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, ns: &str, local: &str) -> Option<roxmltree::Node<'a, 'i>> {
    elements(node).find(|n| n.tag_name().namespace() == Some(ns) && n.tag_name().name() == local)
}

pub fn is(node: roxmltree::Node<'_, '_>, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == local
}

/// All the text inside `node`.
pub fn text(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants().filter(roxmltree::Node::is_text).filter_map(|n| n.text()).collect()
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

pub fn href(path: &str) -> String {
    format!("<d:href>{}</d:href>", escape(path))
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
const NAMESPACES: &str = "xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\" \
     xmlns:cs=\"http://calendarserver.org/ns/\" xmlns:ical=\"http://apple.com/ns/ical/\"";

/// A `207 Multi-Status` body, built response by response.
pub struct Multistatus {
    out: String,
}

impl Default for Multistatus {
    fn default() -> Self {
        Self::new()
    }
}

impl Multistatus {
    pub fn new() -> Self {
        Self { out: format!("{HEAD}<d:multistatus {NAMESPACES}>") }
    }

    /// One resource: the properties found (name, inner XML) and those it does not have.
    pub fn response(&mut self, path: &str, found: &[(Name, String)], missing: &[Name]) {
        let _ = write!(self.out, "<d:response>{}", href(path));
        if !found.is_empty() || missing.is_empty() {
            self.out.push_str("<d:propstat><d:prop>");
            for (name, inner) in found {
                self.out.push_str(&name.element(inner));
            }
            self.out.push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>");
        }
        self.propstat(missing, "404 Not Found");
        self.out.push_str("</d:response>");
    }

    /// One resource with properties under one status each (PROPPATCH).
    pub fn response_statuses(&mut self, path: &str, groups: &[(&[Name], &str)]) {
        let _ = write!(self.out, "<d:response>{}", href(path));
        for (names, status) in groups {
            self.propstat(names, status);
        }
        self.out.push_str("</d:response>");
    }

    fn propstat(&mut self, names: &[Name], status: &str) {
        if names.is_empty() {
            return;
        }
        self.out.push_str("<d:propstat><d:prop>");
        for name in names {
            self.out.push_str(&name.element(""));
        }
        let _ = write!(self.out, "</d:prop><d:status>HTTP/1.1 {status}</d:status></d:propstat>");
    }

    /// A resource answered with a status alone (a multiget's unknown href, a sync report's
    /// deleted member).
    pub fn status(&mut self, path: &str, status: &str) {
        let _ = write!(self.out, "<d:response>{}<d:status>HTTP/1.1 {status}</d:status></d:response>", href(path));
    }

    pub fn sync_token(&mut self, token: &str) {
        let _ = write!(self.out, "<d:sync-token>{}</d:sync-token>", escape(token));
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</d:multistatus>");
        self.out
    }
}

/// A precondition's error body (`<d:error>` with the condition, RFC 4918 §16), with a
/// sentence for people in Calento's own element.
pub fn error(condition: &Name, inner: &str, reason: &str) -> String {
    format!(
        "{HEAD}<d:error {NAMESPACES}>{}<cal:reason xmlns:cal=\"https://calento.app/ns\">{}</cal:reason></d:error>",
        condition.element(inner),
        escape(reason)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_use_known_prefixes_and_declare_others() {
        assert_eq!(Name::new(DAV, "getetag").element("\"x\""), "<d:getetag>\"x\"</d:getetag>");
        assert_eq!(Name::new("urn:x", "a").element(""), "<x:a xmlns:x=\"urn:x\"/>");
        assert_eq!(
            Name::from_clark(&Name::new(ICAL, "calendar-order").clark()),
            Some(Name::new(ICAL, "calendar-order"))
        );
    }

    #[test]
    fn a_dtd_is_refused_so_entities_cannot_expand() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY b \"bbbbbbbb\">]><a>&b;&b;</a>";
        assert!(parse(bomb).is_err());
        assert!(parse("<d:propfind xmlns:d=\"DAV:\"><d:allprop/></d:propfind>").is_ok());
        assert!(parse("<a>").is_err());
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\"\r"), "a&lt;b &amp; &quot;c&quot;&#13;");
    }
}
