//! The one HTTP client the server calls out with (subscriptions, sign-in providers, the
//! language model), guarded against server-side request forgery.
//!
//! A URL given by a user (a subscription) or named by a remote document (an OpenID
//! discovery document's endpoints) must not let anyone reach what only the server can:
//! its own ports, the local network, a cloud's metadata service. So every call:
//!
//! - refuses hosts spelled as numbers libc would read as an address (`2130706433`,
//!   `0177.0.0.1`, `0x7f.1`, `127.1`): they are not DNS names;
//! - resolves the name once, keeps only addresses outside the refused classes
//!   ([`refused_class`]) or inside the operator's allowlist (`CALENTO_OUTBOUND_ALLOW`),
//!   and connects only to one of those ([`GuardedConnector`]), so a name that resolves to
//!   something else on a second lookup (DNS rebinding) gains nothing;
//! - follows at most the redirects the caller allows (never from https to http), each
//!   hop through the same connector;
//! - ends within its time limits, and reads at most its body cap.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

/// Defaults of [`Limits`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_BYTES: usize = 1 << 20;
/// The most redirects any call may follow.
pub const MAX_REDIRECTS: usize = 5;
/// How long the subscription form waits for a name to resolve before letting the poller judge.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The kinds of address the server never calls unless the operator allows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Loopback,
    Private,
    LinkLocal,
    SharedAddressSpace,
    Unspecified,
    Multicast,
    Broadcast,
    /// Documentation, benchmarking, protocol-assignment and other reserved ranges.
    Reserved,
}

impl AddressClass {
    fn describe(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address (this machine)",
            Self::Private => "a private network address",
            Self::LinkLocal => "a link-local address",
            Self::SharedAddressSpace => "a carrier-grade NAT address",
            Self::Unspecified => "an unspecified address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// The class that keeps the server from calling `ip`, or `None` for a public address.
/// IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by it.
pub fn refused_class(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => ipv4_class(v4),
        IpAddr::V6(v6) => ipv6_class(v6),
    }
}

fn ipv4_class(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, c, _] = ip.octets();
    let class = match (a, b, c) {
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (0, _, _) => AddressClass::Unspecified,
        (127, _, _) => AddressClass::Loopback,
        (10, _, _) | (192, 168, _) => AddressClass::Private,
        (172, 16..=31, _) => AddressClass::Private,
        (169, 254, _) => AddressClass::LinkLocal,
        (100, 64..=127, _) => AddressClass::SharedAddressSpace,
        (224..=239, _, _) => AddressClass::Multicast,
        (240..=255, _, _) => AddressClass::Reserved,
        // Protocol assignments, documentation, benchmarking, the retired 6to4 relay.
        (192, 0, 0 | 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) | (192, 88, 99) => AddressClass::Reserved,
        _ => return None,
    };
    Some(class)
}

fn ipv6_class(ip: Ipv6Addr) -> Option<AddressClass> {
    let s = ip.segments();
    let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    let class = match s {
        // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64) reach the IPv4 address.
        [0, 0, 0, 0, 0, 0xffff, high, low] | [0x64, 0xff9b, 0, 0, 0, 0, high, low] => {
            return ipv4_class(embedded(high, low));
        }
        // ::a.b.c.d (compatible, deprecated): refused whatever it carries.
        [0, 0, 0, 0, 0, 0, high, low] => ipv4_class(embedded(high, low)).unwrap_or(AddressClass::Reserved),
        // 6to4 carries the IPv4 address of its relay.
        [0x2002, high, low, ..] => return ipv4_class(embedded(high, low)),
        [0x64, 0xff9b, 1, ..] => AddressClass::Private,
        [first, ..] if first & 0xfe00 == 0xfc00 => AddressClass::Private,
        [first, ..] if first & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        // Site-local (deprecated) was the old private range.
        [first, ..] if first & 0xffc0 == 0xfec0 => AddressClass::Private,
        [first, ..] if first & 0xff00 == 0xff00 => AddressClass::Multicast,
        // Documentation, Teredo (the IPv4 address inside is hidden), discard-only.
        [0x2001, 0xdb8, ..] | [0x2001, 0, ..] | [0x100, 0, 0, 0, ..] => AddressClass::Reserved,
        _ => return None,
    };
    Some(class)
}

/// Whether a URL host is a number libc would read as an IPv4 address (`2130706433`,
/// `0177.0.0.1`, `0x7f.1`, `127.1`) rather than a DNS name. The canonical dotted quad
/// is an address like any other and is judged by its class instead.
pub fn is_numeric_host(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            let hex = label.strip_prefix("0x").or_else(|| label.strip_prefix("0X"));
            match hex {
                Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
                None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
            }
        })
}

/// An address block of the allowlist, e.g. `192.168.1.0/24` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// `a.b.c.d/n`, `x::y/n`, or a single address.
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let address: IpAddr = address.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
        let address = address.to_canonical();
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Self { address, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let mask = |bits: u32| if self.prefix == 0 { 0 } else { u128::MAX << (bits - u32::from(self.prefix)) };
        match (self.address, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask(32);
                u128::from(u32::from(net)) & mask == u128::from(u32::from(ip)) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask(128);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The operator's exceptions (`CALENTO_OUTBOUND_ALLOW`): host names and address blocks
/// the server may call even though they are private (a self-hoster's own LAN services).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    hosts: Vec<String>,
    networks: Vec<Network>,
}

fn normal_host(host: &str) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

fn is_host_name(name: &str) -> bool {
    name.len() <= 253
        && !is_numeric_host(name)
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl Allowlist {
    /// Comma-separated host names and CIDR blocks: `nextcloud.lan,192.168.1.0/24,::1/128`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut allow = Self::default();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            if let Some(network) = Network::parse(item) {
                allow.networks.push(network);
            } else if !item.contains('/') && is_host_name(&normal_host(item)) {
                allow.hosts.push(normal_host(item));
            } else {
                return Err(format!(
                    "expected host names and address blocks such as nextcloud.lan,192.168.1.0/24, got {item:?}"
                ));
            }
        }
        Ok(allow)
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = normal_host(host);
        self.hosts.contains(&host)
    }

    fn allows_address(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(ip))
    }
}

/// Why the guard would not call an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{address} is {} (allowed only when CALENTO_OUTBOUND_ALLOW lists it)", class.describe())]
    Address { address: IpAddr, class: AddressClass },
    #[error("{host} resolves to {address}, {} (allowed only when CALENTO_OUTBOUND_ALLOW lists it)", class.describe())]
    Resolved { host: String, address: IpAddr, class: AddressClass },
    #[error("{host} is a number, not a host name")]
    NumericHost { host: String },
}

/// Why a call failed, in words fit for the person who asked for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("not a valid URL")]
    BadUrl,
    #[error("only http and https addresses can be fetched, not {0}:")]
    Scheme(String),
    #[error("no answer within {}", describe_duration(*.0))]
    Timeout(Duration),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("redirected more than {0} times")]
    TooManyRedirects(usize),
    #[error("redirected from https to plain http, which is refused")]
    Downgrade,
    #[error("answered {0} without a Location")]
    NoLocation(StatusCode),
    #[error("redirected to a bad address: {0}")]
    BadRedirect(String),
    #[error("{0}")]
    Network(String),
}

/// `30 s`, or `500 ms` below a second.
pub fn describe_duration(duration: Duration) -> String {
    match duration.subsec_millis() {
        0 => format!("{} s", duration.as_secs()),
        _ => format!("{} ms", duration.as_millis()),
    }
}

/// An error and its causes on one line (hyper's own message alone says little).
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    // hyper's outer "client error (Connect)" adds nothing to its cause.
    if error.source().is_some() && parts[0].starts_with("client error") {
        parts.clear();
    }
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// What the guard lets through: everything public, plus the operator's allowlist.
#[derive(Debug)]
struct Guard {
    allow: Allowlist,
}

impl Guard {
    fn allows(&self, ip: IpAddr) -> bool {
        self.allow.allows_address(ip) || refused_class(ip).is_none()
    }

    fn refuse(ip: IpAddr) -> Refusal {
        Refusal::Address { address: ip, class: refused_class(ip).unwrap_or(AddressClass::Reserved) }
    }

    /// The addresses of `host` the server may connect to (at least one), or why none.
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, BoxError> {
        let listed = self.allow.allows_host(host);
        let host = normal_host(host);
        if let Ok(ip) = host.parse::<IpAddr>() {
            return if listed || self.allows(ip) {
                Ok(vec![SocketAddr::new(ip, port)])
            } else {
                Err(Box::new(Self::refuse(ip)))
            };
        }
        if is_numeric_host(&host) {
            return Err(Box::new(Refusal::NumericHost { host }));
        }
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| listed || self.allows(a.ip())).collect();
        match (allowed.is_empty(), found.first()) {
            (false, _) => Ok(allowed),
            (true, Some(first)) => Err(Box::new(Refusal::Resolved {
                host,
                address: first.ip(),
                class: refused_class(first.ip()).unwrap_or(AddressClass::Reserved),
            })),
            (true, None) => Err(format!("cannot resolve {host}").into()),
        }
    }

    /// Connects to one of the allowed addresses of the URI's host, in turn.
    async fn connect(&self, uri: Uri, connect_timeout: Duration) -> Result<TokioIo<TcpStream>, BoxError> {
        let host = uri.host().ok_or("the address has no host")?;
        let port = uri.port_u16().unwrap_or(if uri.scheme() == Some(&http::uri::Scheme::HTTPS) { 443 } else { 80 });
        let listed = self.allow.allows_host(host);
        let mut last: BoxError = "no address to connect to".into();
        for address in self.resolve(host, port).await? {
            match tokio::time::timeout(connect_timeout, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    // The address actually connected to is the one that was checked; asserted
                    // again in case the socket layer ever chose otherwise.
                    let peer = stream.peer_addr()?.ip();
                    if !listed && !self.allows(peer) {
                        return Err(Box::new(Self::refuse(peer)));
                    }
                    let _ = stream.set_nodelay(true);
                    return Ok(TokioIo::new(stream));
                }
                Ok(Err(error)) => last = Box::new(error),
                Err(_) => {
                    last = format!("connecting to {address} took over {}", describe_duration(connect_timeout)).into()
                }
            }
        }
        Err(last)
    }
}

/// The hyper connector of every outbound call: resolves, filters, connects only to an
/// allowed address. TLS (for https) wraps it.
#[derive(Debug, Clone)]
pub struct GuardedConnector {
    guard: Arc<Guard>,
    connect_timeout: Duration,
}

impl tower::Service<Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let (guard, timeout) = (self.guard.clone(), self.connect_timeout);
        Box::pin(async move { guard.connect(uri, timeout).await })
    }
}

/// The limits of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// For each TCP connection attempt.
    pub connect_timeout: Duration,
    /// For the whole call: every redirect and the body included.
    pub timeout: Duration,
    /// The largest body read.
    pub max_bytes: usize,
    /// Redirects followed (GET and HEAD only, at most [`MAX_REDIRECTS`]); with 0 a
    /// redirect is answered as it came (what OAuth token endpoints expect).
    pub redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { connect_timeout: CONNECT_TIMEOUT, timeout: TIMEOUT, max_bytes: MAX_BYTES, redirects: 0 }
    }
}

/// The guarded client. Cheap to clone; each call opens its own connection (calls are
/// rare: a feed an hour, a sign-in, a suggestion), so the connect timeout is per call too.
#[derive(Clone)]
pub struct Outbound {
    guard: Arc<Guard>,
    tls: Arc<rustls::ClientConfig>,
    limits: Limits,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").field("allow", &self.guard.allow).field("limits", &self.limits).finish()
    }
}

/// The host as written in a URL (before a URL parser turns `0x7f.1` into `127.0.0.1`).
fn written_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port.split_once(']').and_then(|(h, _)| h.strip_prefix('['));
    }
    Some(host_port.split(':').next().unwrap_or(host_port))
}

/// Refuses a URL whose host, as written, is a numeric spelling of an address.
fn refuse_numeric_host(url: &str) -> Result<(), OutboundError> {
    match written_host(url) {
        Some(host) if is_numeric_host(host) && host.parse::<Ipv4Addr>().is_err() => {
            Err(OutboundError::Refused(Refusal::NumericHost { host: host.to_owned() }))
        }
        _ => Ok(()),
    }
}

/// Parses a URL to call: http or https, and not a numeric host spelling.
pub fn target(url: &str) -> Result<url::Url, OutboundError> {
    refuse_numeric_host(url)?;
    let parsed = url::Url::parse(url).map_err(|_| OutboundError::BadUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(OutboundError::Scheme(parsed.scheme().to_owned()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(OutboundError::BadUrl);
    }
    Ok(parsed)
}

/// Where a redirect from `current` to `location` leads, if it may be followed: http or
/// https, never from https down to http, and no numeric host spelling.
fn next_hop(current: &url::Url, location: &str) -> Result<url::Url, OutboundError> {
    // A Location naming a host is checked as written, before `join` normalises it.
    if location.starts_with("//") {
        refuse_numeric_host(&format!("{}:{location}", current.scheme()))?;
    } else if location.contains("://") {
        refuse_numeric_host(location)?;
    }
    let next = current.join(location).map_err(|_| OutboundError::BadRedirect(location.chars().take(100).collect()))?;
    let next = target(next.as_str())?;
    if current.scheme() == "https" && next.scheme() == "http" {
        return Err(OutboundError::Downgrade);
    }
    Ok(next)
}

/// A hyper error as the guard's refusal when that is what it was, else its causes.
fn classify(error: &(dyn std::error::Error + 'static)) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<Refusal>() {
            return OutboundError::Refused(refusal.clone());
        }
        source = cause.source();
    }
    OutboundError::Network(describe(error))
}

impl Outbound {
    /// A client that calls public addresses, and the ones `allow` lists.
    pub fn new(allow: Allowlist) -> Self {
        // rustls' process-wide provider: ring (the first install wins; later ones are
        // no-ops), so that another crate enabling aws-lc-rs cannot leave the choice ambiguous.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = rustls::ClientConfig::builder().with_webpki_roots().with_no_client_auth();
        Self { guard: Arc::new(Guard { allow }), tls: Arc::new(tls), limits: Limits::default() }
    }

    /// The same client with other limits for its calls.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// One call with this client's limits.
    pub async fn send(&self, request: Request<impl Into<Bytes>>) -> Result<Response<Bytes>, OutboundError> {
        self.send_with(request, self.limits).await
    }

    /// One call with the given limits; a non-2xx status is an answer, not an error.
    pub async fn send_with(
        &self,
        request: Request<impl Into<Bytes>>,
        limits: Limits,
    ) -> Result<Response<Bytes>, OutboundError> {
        let (parts, body) = request.into_parts();
        let body: Bytes = body.into();
        let call = self.follow(parts.method, parts.uri, parts.headers, body, limits);
        tokio::time::timeout(limits.timeout, call).await.map_err(|_| OutboundError::Timeout(limits.timeout))?
    }

    async fn follow(
        &self,
        method: Method,
        uri: Uri,
        mut headers: HeaderMap,
        body: Bytes,
        limits: Limits,
    ) -> Result<Response<Bytes>, OutboundError> {
        let mut url = target(&uri.to_string())?;
        let origin = url.origin();
        let redirects =
            if matches!(method, Method::GET | Method::HEAD) { limits.redirects.min(MAX_REDIRECTS) } else { 0 };
        let https = HttpsConnector::from((
            GuardedConnector { guard: self.guard.clone(), connect_timeout: limits.connect_timeout },
            self.tls.clone(),
        ));
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build::<_, Full<Bytes>>(https);
        headers.remove(header::HOST);
        for hop in 0..=redirects {
            if url.origin() != origin {
                // Credentials are for the server they were meant for, not for where it points.
                headers.remove(header::AUTHORIZATION);
                headers.remove(header::COOKIE);
            }
            let uri: Uri = url.as_str().parse().map_err(|_| OutboundError::BadUrl)?;
            let mut request = Request::builder().method(method.clone()).uri(uri);
            if let Some(all) = request.headers_mut() {
                all.extend(headers.clone());
            }
            let request = request.body(Full::new(body.clone())).map_err(|_| OutboundError::BadUrl)?;
            let response = client.request(request).await.map_err(|e| classify(&e))?;
            let status = response.status();
            let redirected = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if !redirected || redirects == 0 {
                return read(response, limits.max_bytes).await;
            }
            if hop == redirects {
                break;
            }
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or(OutboundError::NoLocation(status))?;
            let next = next_hop(&url, location)?;
            url = next;
        }
        Err(OutboundError::TooManyRedirects(redirects))
    }

    /// Whether `url` may be called: its scheme, its host as written, and the addresses its
    /// name resolves to now. A name that does not resolve (yet) passes: calling it will
    /// say why it failed.
    pub async fn check_url(&self, url: &str) -> Result<(), OutboundError> {
        let url = target(url)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        match tokio::time::timeout(CHECK_TIMEOUT, self.guard.resolve(&host, port)).await {
            Ok(Err(error)) => match error.downcast::<Refusal>() {
                Ok(refusal) => Err(OutboundError::Refused(*refusal)),
                Err(_) => Ok(()),
            },
            Ok(Ok(_)) | Err(_) => Ok(()),
        }
    }

    /// [`Outbound::check_url`] for the app's storage layer, which cannot name this crate.
    pub fn url_check(&self) -> app::ssr::UrlCheck {
        let outbound = self.clone();
        app::ssr::UrlCheck(Arc::new(move |url: String| {
            let outbound = outbound.clone();
            Box::pin(async move { outbound.check_url(&url).await.map_err(|e| e.to_string()) })
        }))
    }
}

/// Reads the body, at most `max_bytes` of it.
async fn read(response: Response<hyper::body::Incoming>, max_bytes: usize) -> Result<Response<Bytes>, OutboundError> {
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_bytes as u64) {
        return Err(OutboundError::TooLarge(max_bytes));
    }
    let (parts, body) = response.into_parts();
    let bytes = Limited::new(body, max_bytes)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                OutboundError::TooLarge(max_bytes)
            } else {
                OutboundError::Network(format!("the download broke off: {}", describe(e.as_ref())))
            }
        })?
        .to_bytes();
    Ok(Response::from_parts(parts, bytes))
}

/// The `oauth2` crate's flows (code exchange) go through the guarded client, with its
/// limits (no redirects: a token endpoint answers directly).
impl<'c> oauth2::AsyncHttpClient<'c> for Outbound {
    type Error = OutboundError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, OutboundError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.send(request).await?;
            let (parts, body) = response.into_parts();
            Ok(Response::from_parts(parts, body.to_vec()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn every_refused_class_is_refused_in_ipv4_and_ipv6() {
        let cases = [
            ("127.0.0.1", AddressClass::Loopback),
            ("127.255.0.9", AddressClass::Loopback),
            ("::1", AddressClass::Loopback),
            ("10.0.0.5", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("192.168.1.20", AddressClass::Private),
            ("fc00::1", AddressClass::Private),
            ("fd12:3456::1", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("100.64.0.1", AddressClass::SharedAddressSpace),
            ("100.127.255.254", AddressClass::SharedAddressSpace),
            ("0.0.0.0", AddressClass::Unspecified),
            ("0.1.2.3", AddressClass::Unspecified),
            ("::", AddressClass::Unspecified),
            ("224.0.0.1", AddressClass::Multicast),
            ("239.255.255.250", AddressClass::Multicast),
            ("ff02::1", AddressClass::Multicast),
            ("255.255.255.255", AddressClass::Broadcast),
            ("240.0.0.1", AddressClass::Reserved),
            ("192.0.2.1", AddressClass::Reserved),
            ("198.51.100.7", AddressClass::Reserved),
            ("203.0.113.9", AddressClass::Reserved),
            ("198.18.0.1", AddressClass::Reserved),
            ("2001:db8::1", AddressClass::Reserved),
        ];
        for (address, class) in cases {
            assert_eq!(refused_class(ip(address)), Some(class), "{address}");
        }
    }

    #[test]
    fn ipv6_forms_of_a_refused_ipv4_address_are_refused_like_it() {
        for (address, class) in [
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::ffff:10.1.2.3", AddressClass::Private),
            ("::ffff:169.254.169.254", AddressClass::LinkLocal),
            ("::127.0.0.1", AddressClass::Loopback),
            ("::192.168.0.1", AddressClass::Private),
            ("64:ff9b::127.0.0.1", AddressClass::Loopback),
            ("64:ff9b::a00:1", AddressClass::Private),
            ("2002:7f00:1::", AddressClass::Loopback),
            ("2002:a9fe:a9fe::1", AddressClass::LinkLocal),
        ] {
            assert_eq!(refused_class(ip(address)), Some(class), "{address}");
        }
        // The same forms of a public address reach a public address.
        for address in ["::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1"] {
            assert_eq!(refused_class(ip(address)), None, "{address}");
        }
    }

    #[test]
    fn public_addresses_are_not_refused() {
        for address in
            ["93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "2a00:1450::1"]
        {
            assert_eq!(refused_class(ip(address)), None, "{address}");
        }
    }

    #[test]
    fn numeric_spellings_of_addresses_are_not_host_names() {
        for host in
            ["2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "127.1", "127.0.1", "017700000001", "0x7f.0.0.1."]
        {
            assert!(is_numeric_host(host), "{host}");
        }
        for host in ["example.org", "123.example", "1e100.net", "cal.0x7f.org", "localhost", "a1.b2"] {
            assert!(!is_numeric_host(host), "{host}");
        }
    }

    #[test]
    fn the_allowlist_takes_host_names_and_address_blocks() {
        let allow = Allowlist::parse(" nextcloud.LAN, 192.168.1.0/24,127.0.0.1/32, fd00::/8 ,10.9.8.7").expect("valid");
        assert!(allow.allows_host("nextcloud.lan") && allow.allows_host("Nextcloud.lan."));
        assert!(!allow.allows_host("other.lan"));
        for inside in ["192.168.1.200", "127.0.0.1", "::ffff:127.0.0.1", "fd00::42", "10.9.8.7"] {
            assert!(allow.allows_address(ip(inside)), "{inside}");
        }
        for outside in ["192.168.2.1", "127.0.0.2", "fe80::1", "10.9.8.6"] {
            assert!(!allow.allows_address(ip(outside)), "{outside}");
        }
        assert!(Allowlist::parse("0.0.0.0/0").expect("everything").allows_address(ip("10.0.0.1")));
        for bad in ["192.168.1.0/33", "http://nextcloud.lan", "bad host", "2130706433", "::1/129", "a..b"] {
            assert!(Allowlist::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Allowlist::parse(" , ").expect("empty"), Allowlist::default());
    }

    #[test]
    fn hosts_are_read_as_written() {
        assert_eq!(written_host("http://2130706433/x"), Some("2130706433"));
        assert_eq!(written_host("https://user:pw@0x7f.1:8080/x?y"), Some("0x7f.1"));
        assert_eq!(written_host("http://[::1]:80/"), Some("::1"));
        assert_eq!(written_host("http://example.org"), Some("example.org"));
    }

    #[test]
    fn redirects_stay_on_http_or_https_and_never_go_down_from_https() {
        let from_https = url::Url::parse("https://cal.example.org/a/feed.ics").expect("url");
        let from_http = url::Url::parse("http://cal.example.org/feed.ics").expect("url");
        let hop = |from: &url::Url, to: &str| next_hop(from, to).map(String::from);
        assert_eq!(hop(&from_https, "http://cal.example.org/feed.ics"), Err(OutboundError::Downgrade));
        assert_eq!(hop(&from_https, "//cal.example.org/x"), Ok("https://cal.example.org/x".to_owned()));
        assert_eq!(hop(&from_https, "b.ics"), Ok("https://cal.example.org/a/b.ics".to_owned()));
        assert_eq!(hop(&from_http, "https://other.example.org/"), Ok("https://other.example.org/".to_owned()));
        assert!(matches!(hop(&from_http, "ftp://cal.example.org/"), Err(OutboundError::Scheme(_))));
        assert!(matches!(hop(&from_http, "file:///etc/passwd"), Err(OutboundError::Scheme(_))));
        for numeric in ["http://2130706433/", "http://0x7f.1/", "https://0177.0.0.1/", "//127.1/"] {
            assert!(matches!(hop(&from_http, numeric), Err(OutboundError::Refused(_))), "{numeric}");
        }
    }

    #[tokio::test]
    async fn refused_addresses_are_refused_before_any_connection() {
        let outbound = Outbound::new(Allowlist::default());
        for url in [
            "http://127.0.0.1:1/",
            "http://[::1]:1/",
            "http://[::ffff:127.0.0.1]:1/",
            "http://[::127.0.0.1]:1/",
            "http://[64:ff9b::7f00:1]:1/",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://240.0.0.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://localhost:1/",
        ] {
            let request = Request::get(url).body(Bytes::new()).expect("request");
            let error = outbound.send(request).await.expect_err(url);
            assert!(matches!(error, OutboundError::Refused(_)), "{url}: {error}");
            assert!(matches!(outbound.check_url(url).await, Err(OutboundError::Refused(_))), "{url}");
        }
        assert!(matches!(outbound.check_url("ftp://example.org/").await, Err(OutboundError::Scheme(_))));
        assert_eq!(outbound.check_url("not a url").await, Err(OutboundError::BadUrl));
    }
}
