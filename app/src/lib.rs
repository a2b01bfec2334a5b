#![recursion_limit = "256"]
//! Calento's pages, components, shared models and server functions. Rendered on the
//! server (`ssr`) and hydrated in the browser (`hydrate`) from the same code.

pub mod components;
pub mod error;
pub mod live;
pub mod models;
pub mod offline;
pub mod routes;
pub mod server;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use error::AppError;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};

use crate::components::{ErrorList, Header, RequireUser};
use crate::models::{Theme, UserProfile};
use crate::routes::security::{AdminPage, ConfirmEmailPage, ForgotPasswordPage, ResetPasswordPage, SecurityPage};
use crate::routes::{
    AvailabilityPage, BookingLinksPage, BookingsPage, CalendarAppsPage, CalendarPage, CalendarsPage, ConnectionsPage,
    FocusPage, HomePage, HostPage, LoginPage, ManageBookingPage, NotFound, NotificationsPage, OutboxPage,
    PublicBookingPage, RegisterPage, SearchPage, SettingsPage, StatsPage, TaskSettingsPage, TasksPage, TodayPage,
    TokensPage, WelcomePage,
};
use crate::server::account::{Login, Logout, Register, SetTheme, UpdateProfile, current_user};

/// What the head of every document starts with.
#[component]
fn DocumentHead() -> impl IntoView {
    view! {
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
    }
}

/// The HTML document around the app, rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let theme = page_theme();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.as_str()>
            <head>
                <DocumentHead />
                // Installable: the manifest, and the service worker `/app.js` registers
                // (push, and the last loaded pages for offline use). Not on invitees' pages.
                <link rel="manifest" href="/manifest.webmanifest" />
                <meta name="theme-color" content="#2f6fde" />
                <script src="/app.js" defer></script>
                <AutoReload options=options.clone() />
                <HydrationScripts options=options.clone() />
                <HashedStylesheet options id="leptos" />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The document around the pages invitees see (a host's links, a booking link, their own
/// booking), rendered only on the server. These pages are plain links and forms: they do
/// not load the app's bundle, only the small `frontend-booking` module, which shows times
/// in the browser's zone (docs/ARCHITECTURE.md, "The invitees' pages").
pub fn booking_shell(options: LeptosOptions) -> impl IntoView {
    let theme = page_theme();
    let nonce = leptos::nonce::use_nonce().map(|n| n.to_string());
    let (js, wasm) = booking_assets(&options);
    let start = format!(
        "import init from \"/{pkg}/{js}\"; init({{ module_or_path: \"/{pkg}/{wasm}\" }});",
        pkg = options.site_pkg_dir
    );
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.as_str()>
            <head>
                <DocumentHead />
                <AutoReload options=options.clone() />
                <HashedStylesheet options id="leptos" />
                <script type="module" nonce=nonce inner_html=start></script>
                <MetaTags />
            </head>
            <body>
                <BookingApp />
            </body>
        </html>
    }
}

/// The file names of the invitees' module (`frontend-booking`): hashed when the build
/// left a hash file beside the server (`booking_js:` and `booking_wasm:` lines).
fn booking_assets(options: &LeptosOptions) -> (String, String) {
    let plain = (format!("{BOOKING_OUTPUT}.js"), format!("{BOOKING_OUTPUT}.wasm"));
    #[cfg(feature = "ssr")]
    if options.hash_files {
        static HASHED: std::sync::OnceLock<Option<(String, String)>> = std::sync::OnceLock::new();
        let hash_file = options.hash_file.to_string();
        let hashed = HASHED.get_or_init(|| {
            let path = std::env::current_exe().ok()?.parent()?.join(hash_file);
            let text = std::fs::read_to_string(path).ok()?;
            let hash = |key: &str| {
                text.lines().find_map(|l| l.strip_prefix(key).map(|h| h.trim_start_matches(':').trim().to_owned()))
            };
            Some((
                format!("{BOOKING_OUTPUT}.{}.js", hash("booking_js")?),
                format!("{BOOKING_OUTPUT}.{}.wasm", hash("booking_wasm")?),
            ))
        });
        if let Some(names) = hashed {
            return names.clone();
        }
    }
    let _ = options;
    plain
}

/// The invitees' module's output name (`calento_booking.js`, `calento_booking.wasm`).
pub const BOOKING_OUTPUT: &str = "calento_booking";

/// The pages invitees see, with their own root: nothing of the signed-in app (header,
/// quick capture, reminders, other pages) comes with them.
#[component]
pub fn BookingApp() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|title: String| if title.is_empty() { "Calento".to_owned() } else { format!("{title} · Calento") } />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="app-header public-header">
                <a href="/" class="brand">"Calento"</a>
            </header>
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/booking/:token") view=ManageBookingPage ssr=SsrMode::Async />
                    <Route path=path!("/:username") view=HostPage ssr=SsrMode::Async />
                    <Route path=path!("/:username/:slug") view=PublicBookingPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// The theme the page was rendered with: from the request's cookie on the server, from
/// the `<html data-theme>` attribute in the browser.
pub fn page_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts.headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).map(Theme::from_cookie_header)
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|html| html.get_attribute("data-theme"))
            .map(|value| Theme::parse(&value))
            .unwrap_or_default()
    }
}

/// The quick-capture box in the header (any page, key c): lists refetch after it saves.
#[derive(Clone, Copy)]
pub struct QuickCapture(pub ServerAction<crate::server::tasks::CaptureTasks>);

/// Who is signed in, and the actions that change it; provided to every page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<UserProfile>, AppError>>,
    pub login: ServerAction<Login>,
    pub register: ServerAction<Register>,
    pub logout: ServerAction<Logout>,
    pub update_profile: ServerAction<UpdateProfile>,
    pub set_theme: ServerAction<SetTheme>,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let login = ServerAction::<Login>::new();
    let register = ServerAction::<Register>::new();
    let logout = ServerAction::<Logout>::new();
    let update_profile = ServerAction::<UpdateProfile>::new();
    let set_theme = ServerAction::<SetTheme>::new();
    let user = Resource::new(
        move || {
            (login.version().get(), register.version().get(), logout.version().get(), update_profile.version().get())
        },
        |_| current_user(),
    );
    provide_context(Auth { user, login, register, logout, update_profile, set_theme });
    provide_context(QuickCapture(ServerAction::new()));
    live::provide(move || matches!(user.get(), Some(Ok(Some(_)))));

    view! {
        <Title formatter=|title: String| if title.is_empty() { "Calento".to_owned() } else { format!("{title} · Calento") } />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header />
            <main id="main" tabindex="-1">
                <ErrorBoundary fallback=|errors| view! { <ErrorList errors /> }>
                    <Routes fallback=NotFound>
                        <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/register") view={Lazy::<RegisterRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/account/confirm") view={Lazy::<ConfirmEmailRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/settings/security") view={Lazy::<SecurityRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                        <Route
                            path=path!("/calendar")
                            view={Lazy::<CalendarRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/calendar/search")
                            view={Lazy::<SearchRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/tasks")
                            view={Lazy::<TasksRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/focus")
                            view={Lazy::<FocusRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route path=path!("/stats") view={Lazy::<StatsRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/today") view={Lazy::<TodayRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/welcome") view={Lazy::<WelcomeRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/settings/tasks") view={Lazy::<TaskSettingsRoute>::new()} ssr=SsrMode::Async />
                        <Route
                            path=path!("/settings/notifications")
                            view={Lazy::<NotificationsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/availability")
                            view={Lazy::<AvailabilityRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/booking-links")
                            view={Lazy::<BookingLinksRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/bookings")
                            view={Lazy::<BookingsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/settings")
                            view={Lazy::<SettingsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/settings/calendars")
                            view={Lazy::<CalendarsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/settings/tokens")
                            view={Lazy::<TokensRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/settings/calendar-apps")
                            view={Lazy::<CalendarAppsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/settings/connections")
                            view={Lazy::<ConnectionsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/settings/outbox")
                            view={Lazy::<OutboxRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        // The invitees' pages (`/{username}`, `/{username}/{slug}`,
                        // `/booking/{token}`) are `BookingApp`'s: links to them leave the app.
                    </Routes>
                </ErrorBoundary>
            </main>
        </Router>
    }
}

/// Declares pages as lazily loaded routes: in the browser each page's code is a chunk of
/// its own (cut out of the bundle by scripts/wasm-split at these `#[lazy]` points), fetched
/// when the page is first opened; the server preloads the chunks of the page it renders.
/// On the server a lazy route is an ordinary one. docs/ARCHITECTURE.md, "The signed-in
/// app's bundle".
macro_rules! lazy_pages {
    ($($route:ident => $page:expr;)*) => {$(
        #[doc(hidden)]
        pub struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                #[cfg(feature = "ssr")]
                crate::ssr::split::preload_page_chunks(stringify!($route));
                // The path this page was drawn for: in the browser the address changes
                // as soon as the page's chunk has loaded, a moment before the page is
                // drawn, so tools (and the end-to-end tests) wait for this mark.
                let path = leptos_router::hooks::use_location().pathname.get_untracked();
                let page = untrack(move || ($page)().into_any());
                view! { <div class="route" data-path=path>{page}</div> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    HomeRoute => HomePage;
    LoginRoute => LoginPage;
    RegisterRoute => RegisterPage;
    ForgotPasswordRoute => ForgotPasswordPage;
    ResetPasswordRoute => ResetPasswordPage;
    ConfirmEmailRoute => ConfirmEmailPage;
    SecurityRoute => SecurityPage;
    AdminRoute => AdminPage;
    CalendarRoute => CalendarPage;
    SearchRoute => SearchPage;
    TasksRoute => TasksPage;
    FocusRoute => FocusPage;
    StatsRoute => StatsPage;
    TodayRoute => TodayPage;
    WelcomeRoute => WelcomePage;
    TaskSettingsRoute => TaskSettingsPage;
    NotificationsRoute => NotificationsPage;
    AvailabilityRoute => AvailabilityPage;
    BookingLinksRoute => BookingLinksPage;
    BookingsRoute => BookingsPage;
    CalendarsRoute => CalendarsPage;
    TokensRoute => TokensPage;
    CalendarAppsRoute => CalendarAppsPage;
    OutboxRoute => OutboxPage;
    ConnectionsRoute => ConnectionsPage;
    SettingsRoute => || view! { <RequireUser><SettingsPage /></RequireUser> };
}
