//! `"template_id": "auto"` in the worker: read the document, choose the
//! template its text matches, and apply it.

use super::outcome::Reading;
use super::Worker;
use crate::db::entities::files;
use crate::jobs::JobError;
use crate::templates::choice::Candidates;

/// `auto`: reads the document, chooses the template its text matches, and
/// applies it (reading scanned pages again when the template's OCR language
/// differs from the first reading's).
pub(super) async fn choose_and_extract(
    w: &Worker,
    file: &files::Model,
    bytes: Vec<u8>,
    candidates: &Candidates,
    progress: crate::extraction::Progress,
) -> Result<Reading, JobError> {
    const FIRST_LANGUAGE: &str = "eng";
    let reader = &w.jobs.reader;
    let doc = match reader
        .read(file.kind, bytes.clone(), FIRST_LANGUAGE, progress.clone())
        .await
    {
        Ok(doc) => doc,
        Err(e) => return Ok(Reading::Failed(e.to_string())),
    };
    let pages = doc.pages.len() as i64;
    let Some(candidate) = candidates.choose(&doc.text()) else {
        tracing::info!("no template's keywords match the document");
        return Ok(Reading::Unmatched { pages });
    };
    let template = w.jobs.templates.load(&candidate.id).await?;
    tracing::info!(template_id = %template.id, "template chosen by keywords");
    let scanned = doc.pages.iter().any(|p| p.scan.is_some());
    let doc = if scanned && template.options.language != FIRST_LANGUAGE {
        match reader
            .read(
                file.kind,
                bytes.clone(),
                &template.options.language,
                progress,
            )
            .await
        {
            Ok(doc) => doc,
            Err(e) => return Ok(Reading::Failed(e.to_string())),
        }
    } else {
        doc
    };
    let applied = reader
        .apply(
            file.kind,
            bytes,
            doc,
            template.compiled.clone(),
            &template.options,
        )
        .await;
    Ok(match applied {
        Ok((doc, extracted)) => Reading::Read {
            pages: doc.pages.len() as i64,
            extracted: Box::new(extracted),
            chosen: Some(Box::new(template)),
        },
        Err(e) => Reading::Failed(e.to_string()),
    })
}
