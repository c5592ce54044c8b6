//! The blob store contract, held by the local store and by a real S3 server
//! (SeaweedFS) alike: what one host writes, another reads, and deletes leave
//! nothing behind.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use docpush::storage::{BlobStore, LocalStore, S3Store, StorageError};

use crate::peers;

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            peers::ACCESS_KEY,
            peers::SECRET_KEY,
            None,
            None,
            "test",
        )))
        .build()
}

async fn s3_store(bucket: &str, prefix: &str) -> BlobStore {
    let config = sdk_config(peers::s3_endpoint());
    BlobStore::S3(S3Store::with_config(&config, bucket, prefix).await.unwrap())
}

async fn objects_in(bucket: &str) -> Vec<String> {
    let out = peers::s3_client()
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    keys
}

/// Everything a store must do, the same way on disk and in S3.
async fn holds_the_contract(store: &BlobStore) {
    let big: Vec<u8> = (0..6 * 1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    store
        .put("jobs/a/upload", big.clone().into())
        .await
        .unwrap();
    store
        .put("jobs/a/entries/0", b"first entry".to_vec().into())
        .await
        .unwrap();
    store
        .put("jobs/a/entries/1", b"second entry".to_vec().into())
        .await
        .unwrap();
    store
        .put("jobs/ab/upload", b"a neighbour".to_vec().into())
        .await
        .unwrap();

    assert_eq!(store.get("jobs/a/upload").await.unwrap(), big);
    assert_eq!(
        store.get("jobs/a/entries/1").await.unwrap(),
        b"second entry"
    );
    assert!(store.exists("jobs/a/entries/0").await.unwrap());
    assert!(!store.exists("jobs/a/entries/9").await.unwrap());
    assert!(matches!(
        store.get("jobs/none/upload").await,
        Err(StorageError::NotFound(_))
    ));

    // Overwriting replaces.
    store
        .put("jobs/a/entries/0", b"replaced".to_vec().into())
        .await
        .unwrap();
    assert_eq!(store.get("jobs/a/entries/0").await.unwrap(), b"replaced");

    store.delete("jobs/a/entries/1").await.unwrap();
    assert!(!store.exists("jobs/a/entries/1").await.unwrap());
    store
        .delete("jobs/a/entries/1")
        .await
        .expect("deleting a missing blob succeeds");

    // A prefix delete takes everything under `jobs/a/` and nothing of `jobs/ab`.
    store.delete_prefix("jobs/a").await.unwrap();
    for key in ["jobs/a/upload", "jobs/a/entries/0"] {
        assert!(!store.exists(key).await.unwrap(), "{key} survived");
    }
    assert_eq!(store.get("jobs/ab/upload").await.unwrap(), b"a neighbour");
    store.delete_prefix("jobs/never-there").await.unwrap();

    for bad in ["../escape", "/etc/passwd", "jobs//x", "jobs/a/", ""] {
        assert!(
            matches!(
                store.put(bad, b"x".to_vec().into()).await,
                Err(StorageError::InvalidKey(_))
            ),
            "{bad:?} was accepted"
        );
    }
}

#[tokio::test]
async fn the_local_store_holds_the_blob_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::Local(LocalStore::new(dir.path().join("blobs")).unwrap());
    holds_the_contract(&store).await;
}

#[tokio::test]
async fn an_s3_bucket_holds_the_blob_contract_under_its_prefix() {
    let bucket = peers::new_bucket().await;
    let store = s3_store(&bucket, "tenant/blobs").await;
    holds_the_contract(&store).await;
    assert_eq!(
        objects_in(&bucket).await,
        ["tenant/blobs/jobs/ab/upload"],
        "every object lies under the prefix, and only the neighbour is left"
    );
}

#[tokio::test]
async fn start_up_refuses_a_bucket_it_cannot_use() {
    let endpoint = peers::s3_endpoint();
    let missing = S3Store::with_config(&sdk_config(endpoint), "no-such-bucket-here", "")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("s3://no-such-bucket-here") && missing.contains("cannot be used"),
        "{missing}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable =
        S3Store::with_config(&sdk_config(&format!("http://127.0.0.1:{port}")), "docs", "")
            .await
            .unwrap_err()
            .to_string();
    assert!(unreachable.contains("s3://docs"), "{unreachable}");

    let bad = BlobStore::open(Some("s3://Bad_Bucket"), std::path::Path::new("/tmp"))
        .await
        .unwrap_err()
        .to_string();
    assert!(bad.contains("s3://BUCKET/PREFIX"), "{bad}");
}
