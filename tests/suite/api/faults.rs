use std::time::{Duration, Instant};

use sebulk::api::{ApiError, Client};
use sebulk::sandbox::Seed;
use secrecy::SecretString;

use crate::support::{client, faults, new_user, settings, start};

#[tokio::test]
async fn a_429_pauses_the_whole_pool_and_lowers_the_rate() {
    // The server allows 10/s; the client is told 100/s with 8 in flight.
    let sandbox = start(faults(|f| f.rate_limit = Some(10))).await;
    let mut settings = settings(&sandbox);
    settings.rate = 100.0;
    settings.retry.max_retries = 10;
    let api = Client::new(&settings).unwrap();
    let started = Instant::now();
    let calls = (0..40).map(|_| {
        let api = api.clone();
        async move { api.get_raw(&["groups"], &[]).await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(
        results.iter().all(Result::is_ok),
        "every call succeeds in the end"
    );
    let stats = api.stats();
    let seen = sandbox.counters();
    assert!(stats.throttled >= 1, "the limit was met");
    // Without a pool-wide pause, 8 workers at 100/s would meet hundreds of 429s.
    assert!(seen.throttled <= 16, "429s stay few: {seen:?}");
    assert!(api.throttle().current_rate() < 100.0, "the rate came down");
    // 40 accepted requests at 10/s cannot finish in under ~3 s.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_is_waited_for() {
    let sandbox = start(faults(|f| f.rate_limit = Some(2))).await;
    let mut settings = settings(&sandbox);
    settings.rate = 1000.0;
    settings.in_flight = sebulk::limiter::InFlight::Fixed(1);
    let api = Client::new(&settings).unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        api.get_raw(&["groups"], &[]).await.unwrap();
    }
    // The third request is refused with Retry-After: 1 and must wait it out.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(api.stats().throttled, 1);
    assert_eq!(
        sandbox.counters().throttled,
        1,
        "no request was sent during the pause"
    );
}

#[tokio::test]
async fn server_unavailable_is_retried_until_it_passes() {
    let sandbox = start(faults(|f| {
        f.fail_rate = 0.3;
        f.seed = 42;
    }))
    .await;
    let api = client(&sandbox);
    for _ in 0..30 {
        api.get_raw(&["applications"], &[]).await.unwrap();
    }
    let stats = api.stats();
    assert!(
        stats.server_errors > 0 && stats.retries == stats.server_errors,
        "{stats:?}"
    );
    assert_eq!(sandbox.counters().failed, stats.server_errors);
}

#[tokio::test]
async fn retries_run_out_with_the_last_status() {
    let sandbox = start(faults(|f| f.fail_rate = 1.0)).await;
    let mut settings = settings(&sandbox);
    settings.retry.max_retries = 2;
    let api = Client::new(&settings).unwrap();
    let err = api.get_raw(&["users"], &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Status {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_never_duplicated_nor_failed() {
    let mut config = faults(|f| {
        f.drop_rate = 0.5;
        f.seed = 7;
    });
    config.seed = Seed::Empty;
    let sandbox = start(config).await;
    let api = client(&sandbox);
    let creates = (0..24).map(|i| {
        let api = api.clone();
        async move { api.create_user(&new_user(&format!("hire{i:02}"))).await }
    });
    let results = futures::future::join_all(creates).await;
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let dropped = sandbox.counters().dropped;
    assert!(dropped > 0, "the fault fired");
    let confirmed = results
        .iter()
        .flatten()
        .filter(|c| c.confirmed_by_lookup)
        .count() as u64;
    assert_eq!(
        confirmed, dropped,
        "every lost answer was settled by a lookup"
    );
    let tenant = sandbox.tenant();
    assert_eq!(tenant.users().count(), 24, "one user per create");
    for result in results.iter().flatten() {
        assert_eq!(
            tenant.user(&result.user.id).unwrap().fields.username,
            result.user.fields.username
        );
    }
}

#[tokio::test]
async fn a_refused_key_stops_the_whole_run_at_once() {
    let sandbox = start(crate::support::config()).await;
    let mut settings = settings(&sandbox);
    settings.api_key = SecretString::from("wrong-key");
    settings.in_flight = sebulk::limiter::InFlight::Fixed(4);
    let api = Client::new(&settings).unwrap();
    let calls = (0..50).map(|_| {
        let api = api.clone();
        async move { api.get_raw(&["users"], &[]).await }
    });
    let results = futures::future::join_all(calls).await;
    let unauthorized = results
        .iter()
        .filter(|r| matches!(r, Err(ApiError::Unauthorized { .. })))
        .count();
    let stopped = results
        .iter()
        .filter(|r| matches!(r, Err(ApiError::Stopped(_))))
        .count();
    assert!(unauthorized >= 1);
    assert_eq!(unauthorized + stopped, 50);
    let seen = sandbox.counters();
    assert!(
        seen.requests <= 4,
        "at most the requests already in flight were sent: {seen:?}, {unauthorized} refused"
    );
    let message = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .unwrap()
        .to_string();
    assert!(message.contains("auth-scheme"), "{message}");
}

#[tokio::test]
async fn every_auth_scheme_works_when_both_sides_agree() {
    use sebulk::model::AuthScheme;
    for scheme in AuthScheme::ALL {
        let mut config = crate::support::config();
        config.auth_scheme = scheme;
        let sandbox = start(config).await;
        let mut right = settings(&sandbox);
        right.auth_scheme = scheme;
        assert!(
            Client::new(&right)
                .unwrap()
                .get_raw(&["users"], &[])
                .await
                .is_ok(),
            "{scheme}"
        );
        for other in AuthScheme::ALL.into_iter().filter(|s| *s != scheme) {
            let mut wrong = settings(&sandbox);
            wrong.auth_scheme = other;
            let err = Client::new(&wrong)
                .unwrap()
                .get_raw(&["users"], &[])
                .await
                .unwrap_err();
            assert!(
                matches!(err, ApiError::Unauthorized { status: 401, .. }),
                "{scheme} vs {other}"
            );
        }
    }
}

#[tokio::test]
async fn redirects_are_not_followed_with_the_key() {
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode, header};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let hits = elsewhere_hits.clone();
    let elsewhere = Router::new().fallback(move |_: HeaderMap| {
        hits.fetch_add(1, Ordering::SeqCst);
        async { StatusCode::OK }
    });
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_addr = other.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(other, elsewhere).await });
    let target = format!("http://{other_addr}/steal");
    let redirector = Router::new().fallback(move || {
        let target = target.clone();
        async move { (StatusCode::FOUND, [(header::LOCATION, target)]) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, redirector).await });

    let base = url::Url::parse(&format!("http://{addr}/api/user/restapi")).unwrap();
    let api = Client::new(&sebulk::api::ClientSettings::new(
        base,
        SecretString::from("k"),
    ))
    .unwrap();
    let err = api.get_raw(&["users"], &[]).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Redirect { status: 302, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("--base-url"));
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
}
