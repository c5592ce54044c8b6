//! The dashboard driven in a real browser: finding, filling, clicking,
//! dragging on a page image, and the events a receiver got meanwhile.

use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::helpers::{Receiver, TestApp};
/// The browser and the app it is pointed at.
pub struct Ui {
    pub browser: Browser,
    pub base: String,
}

impl Ui {
    pub async fn start(app: &TestApp) -> Self {
        Self {
            browser: Browser::start().await,
            base: app.base.clone(),
        }
    }

    pub fn c(&self) -> &Client {
        &self.browser.client
    }

    pub async fn goto(&self, path: &str) {
        self.c()
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn path(&self) -> String {
        self.c().current_url().await.unwrap().path().to_string()
    }

    pub async fn find(&self, css: &str) -> Element {
        self.c()
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Clicks a button that loads another page, and waits until that page is in.
    pub async fn submit(&self, css: &str) {
        self.c()
            .execute("window.__before_submit = true;", vec![])
            .await
            .unwrap();
        self.click(css).await;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let gone = self
                .c()
                .execute(
                    "return window.__before_submit === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(gone, Ok(Value::Bool(true))) {
                return;
            }
            assert!(Instant::now() < deadline, "{css} did not load a page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs the template editor's Try it on the file at `path`, and waits for its result.
    pub async fn try_it(&self, path: &std::path::Path) {
        self.find("#sample")
            .await
            .send_keys(path.to_str().unwrap())
            .await
            .unwrap();
        self.submit("#try-it").await;
        self.find("#try-result").await;
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Waits (without reloading) until `css` holds text satisfying `ok`.
    pub async fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(el) = self.c().find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if ok(&t) {
                        return t;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "{css} never had the expected text"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn shot(&self, name: &str) {
        self.browser.screenshot(&format!("dashboard-{name}")).await;
    }

    /// A screenshot with `css` scrolled to the top of the window.
    pub async fn shot_at(&self, name: &str, css: &str) {
        self.c()
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});",
                vec![json!(css)],
            )
            .await
            .unwrap();
        self.shot(name).await;
    }

    /// The session cookie, for requests made beside the browser.
    pub async fn session_cookie(&self) -> String {
        let c = self.c().get_named_cookie("docpush_session").await.unwrap();
        format!("docpush_session={}", c.value())
    }

    /// Drags on the element from one point to another, both in fractions of its size.
    pub async fn drag(&self, css: &str, from: (f64, f64), to: (f64, f64)) {
        let el = self.find(css).await;
        let (_, _, w, h) = el.rectangle().await.unwrap();
        let at = |(fx, fy): (f64, f64)| ((fx - 0.5) * w, (fy - 0.5) * h);
        let (x0, y0) = at(from);
        let (x1, y1) = at(to);
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: el.clone(),
                duration: None,
                x: x0,
                y: y0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveToElement {
                element: el.clone(),
                duration: Some(Duration::from_millis(200)),
                x: x1,
                y: y1,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.c().perform_actions(mouse).await.unwrap();
    }
}

/// Events of `kind` a receiver got.
pub fn events_of(r: &Receiver, kind: &str) -> Vec<Value> {
    r.received()
        .iter()
        .map(|x| x.json())
        .filter(|b| b["type"] == kind)
        .collect()
}

pub async fn wait_event(r: &Receiver, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(e) = events_of(r, kind).pop() {
            return e;
        }
        assert!(Instant::now() < deadline, "no {kind} event arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
