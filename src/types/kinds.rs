//! Kinds of documents and destinations, and the event catalogue of SPEC §4.

super::named_values! {
    /// What an upload is, detected from its content.
    pub enum DocKind as "document kind" {
        Pdf => "pdf",
        Png => "png",
        Jpeg => "jpeg",
        Tiff => "tiff",
        Webp => "webp",
        Zip => "zip",
    }
}

super::named_values! {
    /// Who caused an event (SPEC §4): an API key, a dashboard user, or docpush
    /// itself (workers, retries, retention).
    #[derive(utoipa::ToSchema)]
    pub enum Origin as "origin" {
        #[schema(rename = "api")]
        Api => "api",
        #[schema(rename = "user")]
        User => "user",
        #[schema(rename = "system")]
        System => "system",
    }
}

super::named_values! {
    /// Where a destination sends.
    #[derive(utoipa::ToSchema)]
    pub enum DestinationKind as "destination type" {
        #[schema(rename = "webhook")]
        Webhook => "webhook",
        #[schema(rename = "sqs")]
        Sqs => "sqs",
        #[schema(rename = "s3")]
        S3 => "s3",
    }
}

super::named_values! {
    /// An event a webhook or destination may receive.
    pub enum EventType as "event type" {
        JobReceived => "job.received",
        ExtractionProcessed => "extraction.processed",
        ExtractionFailed => "extraction.failed",
        ExtractionEdited => "extraction.edited",
        ExtractionConfirmed => "extraction.confirmed",
        BatchCompleted => "batch.completed",
        DestinationTest => "destination.test",
        DocumentDeleted => "document.deleted",
        DocumentRestored => "document.restored",
        DocumentHardDeleted => "document.hard_deleted",
        BatchReady => "batch.ready",
        BatchProcessing => "batch.processing",
        BatchOnHold => "batch.on_hold",
        BatchReleased => "batch.released",
        BatchLocked => "batch.locked",
        BatchUnlocked => "batch.unlocked",
        BatchDeleted => "batch.deleted",
        DestinationFailing => "destination.failing",
        DestinationDisabled => "destination.disabled",
        DestinationRecovered => "destination.recovered",
        DeliveryExhausted => "delivery.exhausted",
    }
}

impl EventType {
    /// Events about a document's values (`extraction.*`): held with their
    /// job, cancelled with their document.
    pub fn is_about_values(self) -> bool {
        self.as_str().starts_with("extraction.")
    }

    /// Events about the delivery engine itself: never sent to the destination
    /// they are about, and an undeliverable one raises no further event.
    pub fn is_operational(self) -> bool {
        matches!(
            self,
            EventType::DestinationFailing
                | EventType::DestinationDisabled
                | EventType::DestinationRecovered
                | EventType::DeliveryExhausted
        )
    }

    /// Whether a destination may still need the document's upload to send
    /// this event (an S3 destination writes the document itself).
    pub fn carries_document(self) -> bool {
        matches!(
            self,
            EventType::ExtractionProcessed | EventType::ExtractionConfirmed
        )
    }
}
