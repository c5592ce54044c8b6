//! The statuses of deliveries and of reviewed results.

super::named_values! {
    /// Where a delivery stands: due (now or after a retry delay), delivered,
    /// dead-lettered, waiting for its job's release, or cancelled because its
    /// document was deleted.
    pub enum DeliveryStatus as "delivery status" {
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
        Held => "held",
        Cancelled => "cancelled",
    }
}

super::named_values! {
    /// Where a background task stands.
    pub enum TaskStatus as "task status" {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
}

super::named_values! {
    /// What a document's values are worth: read with confidence, waiting for a
    /// person, corrected by one, or confirmed by one.
    pub enum ResultStatus as "result status" {
        Ok => "ok",
        NeedsReview => "needs_review",
        Edited => "edited",
        Confirmed => "confirmed",
    }
}

impl ResultStatus {
    /// Whether a person still has to look at the values (their upload is
    /// kept for the pages shown beside them).
    pub fn awaits_review(self) -> bool {
        matches!(self, ResultStatus::NeedsReview | ResultStatus::Edited)
    }
}
