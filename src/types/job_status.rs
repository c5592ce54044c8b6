//! The nine job status strings of the contract and the moves allowed between them.

super::named_values! {
    /// A job's (or one document's) place in the pipeline; `as_str` is the wire string.
    pub enum JobStatus as "job status" {
        New => "NEW",
        UnzippingFile => "UNZIPPING FILE",
        UnzipFileSuccess => "UNZIP FILE SUCCESS",
        UnzipFileFailed => "UNZIP FILE FAILED",
        ProcessingImage => "PROCESSING IMAGE",
        ProcessImageSuccess => "PROCESS IMAGE SUCCESS",
        ProcessImageFailed => "PROCESS IMAGE FAILED",
        Success => "SUCCESS",
        Failed => "FAILED",
    }
}

use JobStatus::*;

impl JobStatus {
    /// `SUCCESS` and `FAILED` end a job.
    pub fn is_final(self) -> bool {
        matches!(self, Success | Failed)
    }

    /// Whether a document in this status has its outcome (read or failed).
    pub fn is_document_outcome(self) -> bool {
        matches!(self, ProcessImageSuccess | ProcessImageFailed)
    }

    /// Whether a document in this status is still to be read (a resumed job
    /// finds some marked as being read).
    pub fn is_unread(self) -> bool {
        matches!(self, New | ProcessingImage)
    }

    /// Whether a move to this status records why the job went wrong.
    pub fn records_error(self) -> bool {
        matches!(self, UnzipFileFailed | ProcessImageFailed)
    }

    /// Whether a job may move from `self` to `next`.
    pub fn can_move_to(self, next: JobStatus) -> bool {
        matches!(
            (self, next),
            (New, UnzippingFile)
                | (New, ProcessingImage)
                | (UnzippingFile, UnzipFileSuccess)
                | (UnzippingFile, UnzipFileFailed)
                | (UnzipFileSuccess, ProcessingImage)
                | (UnzipFileFailed, Failed)
                | (ProcessingImage, ProcessImageSuccess)
                | (ProcessingImage, ProcessImageFailed)
                | (ProcessImageSuccess, Success)
                | (ProcessImageFailed, Failed)
        )
    }

    /// The final status that follows a job's documents' outcome.
    pub fn final_after(self) -> Option<JobStatus> {
        match self {
            ProcessImageSuccess => Some(Success),
            ProcessImageFailed | UnzipFileFailed => Some(Failed),
            _ => None,
        }
    }

    /// The next move of a job that cannot go on: the shortest way to an end
    /// that records its failure; `None` once it has ended.
    pub fn toward_failure(self) -> Option<JobStatus> {
        match self {
            New | UnzipFileSuccess => Some(ProcessingImage),
            UnzippingFile => Some(UnzipFileFailed),
            ProcessingImage => Some(ProcessImageFailed),
            ProcessImageSuccess => Some(Success),
            UnzipFileFailed | ProcessImageFailed => Some(Failed),
            Success | Failed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip() {
        for &s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>().unwrap(), s);
        }
        assert!("DONE".parse::<JobStatus>().is_err());
    }

    #[test]
    fn zip_and_single_paths_are_allowed() {
        let zip = [
            New,
            UnzippingFile,
            UnzipFileSuccess,
            ProcessingImage,
            ProcessImageSuccess,
            Success,
        ];
        let single = [New, ProcessingImage, ProcessImageFailed, Failed];
        let bad_zip = [New, UnzippingFile, UnzipFileFailed, Failed];
        for path in [&zip[..], &single[..], &bad_zip[..]] {
            for w in path.windows(2) {
                assert!(w[0].can_move_to(w[1]), "{} -> {}", w[0], w[1]);
            }
        }
    }

    #[test]
    fn final_states_do_not_move() {
        for &next in JobStatus::ALL {
            assert!(!Success.can_move_to(next));
            assert!(!Failed.can_move_to(next));
        }
        assert!(!New.can_move_to(Success));
        assert!(!ProcessingImage.can_move_to(UnzippingFile));
    }

    #[test]
    fn every_status_fails_by_allowed_moves_to_an_end() {
        for &start in JobStatus::ALL {
            let mut at = start;
            while let Some(next) = at.toward_failure() {
                assert!(at.can_move_to(next), "{at} -> {next}");
                at = next;
            }
            assert!(at.is_final(), "{start} ended in {at}");
        }
    }
}
