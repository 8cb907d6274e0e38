//! The sandbox registrar and sandbox DNS provider against a real Postgres, and the sandbox
//! zones served over real DNS by the local authoritative listener to the real checker.

use inboxgrove::server::dns::{self, CheckStatus, DnsChecker, RecordPurpose};
use inboxgrove::server::providers::dns::sandbox::SandboxDns;
use inboxgrove::server::providers::dns::{DnsProvider, DnsRecord, RecordType};
use inboxgrove::server::providers::registrar::sandbox::SandboxRegistrar;
use inboxgrove::server::providers::registrar::{
    Contact, RegisterRequest, Registrar, RegistrarError,
};
use inboxgrove::server::startup;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

use crate::helpers::settings;

fn contact() -> Contact {
    Contact {
        first_name: "Ada".into(),
        last_name: "Grove".into(),
        organization: "Acme Outreach".into(),
        address1: "1 Main St".into(),
        city: "Springfield".into(),
        state_province: "IL".into(),
        postal_code: "62701".into(),
        country: "US".into(),
        phone: "+1.5555550100".into(),
        email: "ada@acme.io".into(),
    }
}

fn request(name: &str) -> RegisterRequest {
    RegisterRequest {
        name: name.into(),
        years: 1,
        contact: contact(),
        nameservers: vec![],
    }
}

async fn registrar(pool: &PgPool) -> SandboxRegistrar {
    startup::migrate(pool).await.unwrap();
    SandboxRegistrar::new(pool.clone(), settings(&[]).registrar.sandbox)
}

#[sqlx::test]
async fn availability_follows_the_registry_the_taken_list_and_the_supported_tlds(pool: PgPool) {
    let r = registrar(&pool).await;
    let names: Vec<String> = ["acme-mail.com", "google.com", "acme-mail.xyz"]
        .map(String::from)
        .to_vec();
    let got = r.check(&names).await.unwrap();
    assert_eq!(
        got.iter().map(|a| a.available).collect::<Vec<_>>(),
        [true, false, false]
    );
    assert_eq!(got[0].cost_cents, Some(inboxgrove::domain::Cents(1098)));
    assert_eq!(
        got[2].cost_cents, None,
        "an unsupported extension has no price"
    );

    r.register(&request("acme-mail.com")).await.unwrap();
    assert!(
        !r.check(&names[..1]).await.unwrap()[0].available,
        "registered names are taken"
    );
    let again = r.register(&request("acme-mail.com")).await.unwrap_err();
    assert!(matches!(again, RegistrarError::Refused { .. }), "{again:?}");
}

#[sqlx::test]
async fn a_fail_register_name_is_refused_and_nothing_is_registered(pool: PgPool) {
    let r = registrar(&pool).await;
    let err = r
        .register(&request("acme-fail-register.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Refused { .. }));
    assert!(r.info("acme-fail-register.com").await.unwrap().is_none());
}

#[sqlx::test]
async fn info_reports_our_domains_with_their_nameservers(pool: PgPool) {
    let r = registrar(&pool).await;
    assert!(r.info("acme-mail.io").await.unwrap().is_none());
    r.register(&request("acme-mail.io")).await.unwrap();
    r.set_nameservers("acme-mail.io", &["ns1.x.net".into(), "ns2.x.net".into()])
        .await
        .unwrap();
    let info = r.info("acme-mail.io").await.unwrap().unwrap();
    assert!(info.ours);
    assert_eq!(info.nameservers, ["ns1.x.net", "ns2.x.net"]);
    assert!(info.expires.is_some());
    assert_eq!(r.list().await.unwrap().len(), 1);
    assert!(r.set_nameservers("not-ours.com", &[]).await.is_err());
}

#[sqlx::test]
async fn sandbox_zones_are_served_over_dns_and_the_checker_judges_each_record(pool: PgPool) {
    startup::migrate(&pool).await.unwrap();
    let s = settings(&[]);
    let sandbox = Arc::new(SandboxDns::new(
        pool.clone(),
        s.dns.sandbox_nameservers.clone(),
    ));
    let zone = sandbox.create_zone("acme-mail.com").await.unwrap();
    assert_eq!(
        sandbox.create_zone("acme-mail.com").await.unwrap(),
        zone,
        "create is idempotent"
    );
    assert_eq!(zone.nameservers, s.dns.sandbox_nameservers);

    let key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".repeat(9);
    let expected = dns::expected_records("acme-mail.com", &key, &s.dns, false);
    for e in &expected {
        sandbox.upsert_record(&zone.id, &e.record).await.unwrap();
    }
    let (addr, listener) = dns::authority::spawn("127.0.0.1:0".parse().unwrap(), sandbox.clone())
        .await
        .unwrap();
    let checker = DnsChecker::with_nameserver(addr, Duration::from_secs(2)).unwrap();

    let checks = checker.check("acme-mail.com", &expected).await.unwrap();
    assert!(
        checks.iter().all(|c| c.status == CheckStatus::Ok),
        "{checks:#?}"
    );

    // Break SPF (upsert replaces the v=spf1 record) and remove DKIM.
    sandbox
        .upsert_record(
            &zone.id,
            &DnsRecord {
                id: None,
                kind: RecordType::Txt,
                name: "acme-mail.com".into(),
                content: "v=spf1 include:_spf.google.com ~all".into(),
                priority: None,
                ttl: 300,
            },
        )
        .await
        .unwrap();
    let records = sandbox.list_records(&zone.id).await.unwrap();
    let dkim = records
        .iter()
        .find(|r| r.name.contains("_domainkey"))
        .unwrap();
    sandbox
        .delete_record(&zone.id, dkim.id.as_deref().unwrap())
        .await
        .unwrap();

    let checks = checker.check("acme-mail.com", &expected).await.unwrap();
    let status = |p: RecordPurpose| checks.iter().find(|c| c.purpose == p).unwrap();
    assert_eq!(status(RecordPurpose::Spf).status, CheckStatus::Invalid);
    assert!(
        status(RecordPurpose::Spf)
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("_spf.inboxgrove.net")),
        "{:?}",
        status(RecordPurpose::Spf).fix
    );
    assert_eq!(status(RecordPurpose::Dkim).status, CheckStatus::Missing);
    assert_eq!(status(RecordPurpose::Dmarc).status, CheckStatus::Ok);
    listener.abort();
}
