//! How AWS SDK failures read, for S3 and DynamoDB alike: one place, so that
//! a missing credential is one line everywhere instead of the SDK's chain of
//! provider errors (about 1,000 characters of instance-metadata detail).

/// What the standard chain tries, and how to give it credentials.
pub const CREDENTIALS_HELP: &str = "ddbsnap uses the standard AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
AWS_PROFILE and ~/.aws, SSO, web identity, container and instance roles): set one of them; for DynamoDB Local or moto \
any key works, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local";

/// The messages of `e` and every error under it, lower-cased.
fn causes<'a>(e: &'a (dyn std::error::Error + 'static)) -> impl Iterator<Item = String> + 'a {
    std::iter::successors(Some(e), |c| c.source()).map(|c| c.to_string().to_ascii_lowercase())
}

/// Whether any error in the chain says one of `phrases`.
fn says<E: std::error::Error + 'static>(e: &E, phrases: &[&str]) -> bool {
    causes(e).any(|t| phrases.iter().any(|p| t.contains(p)))
}

/// Whether the failure is the credential chain finding nothing (as opposed
/// to a server refusing the credentials it was given).
pub fn credentials_missing<E: std::error::Error + 'static>(e: &E) -> bool {
    says(e, &["loading credentials", "no credentials", "credential provider", "provided credentials"])
}

/// Whether the failure is that no region was configured.
pub fn region_missing<E: std::error::Error + 'static>(e: &E) -> bool {
    says(e, &["region must be set", "missing region", "missing signing region"])
}

/// What to do when no region is configured.
pub const REGION_HELP: &str = "no AWS region is set: give --region, or set AWS_REGION (or a region in your AWS profile)";

/// The cause of an SDK failure in one line: the chain of sources joined,
/// or, when no credentials or no region were found, what to do about it.
pub fn sdk_cause<E: std::error::Error + 'static>(e: &E) -> String {
    if credentials_missing(e) {
        return format!("no AWS credentials were found; {CREDENTIALS_HELP}");
    }
    if region_missing(e) {
        return REGION_HELP.to_string();
    }
    let mut parts = vec![e.to_string()];
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// An SDK call's failure in one line: a service's answer as `Code:
/// message` (not the SDK's debug dump of the whole response), anything
/// else as [`sdk_cause`].
pub fn sdk_message<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let aws_sdk_dynamodb::error::SdkError::ServiceError(ctx) = e
        && let Some(code) = ctx.err().code()
    {
        return format!("{code}: {}", ctx.err().message().unwrap_or("no message"));
    }
    sdk_cause(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Chain(&'static str, Option<Box<Chain>>);
    impl std::fmt::Display for Chain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Chain {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    #[test]
    fn a_missing_credential_is_one_line_with_what_to_do() {
        let e = Chain(
            "dispatch failure",
            Some(Box::new(Chain(
                "an error occurred while loading credentials",
                Some(Box::new(Chain("failed to load IMDS session token", None))),
            ))),
        );
        let text = sdk_cause(&e);
        assert!(text.starts_with("no AWS credentials were found;"), "{text}");
        assert!(text.contains("any key works") && !text.contains("IMDS") && !text.contains('\n'), "{text}");
        let other = Chain("dispatch failure", Some(Box::new(Chain("connection refused", None))));
        assert_eq!(sdk_cause(&other), "dispatch failure: connection refused");
    }
}
