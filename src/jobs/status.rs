//! The nine job status strings of the contract and the moves allowed between them.

use std::fmt;
use std::str::FromStr;

/// A job's (or one file's) place in the pipeline; `as_str` is the wire string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    New,
    UnzippingFile,
    UnzipFileSuccess,
    UnzipFileFailed,
    ProcessingImage,
    ProcessImageSuccess,
    ProcessImageFailed,
    Success,
    Failed,
}

use JobStatus::*;

impl JobStatus {
    pub const ALL: [JobStatus; 9] = [
        New,
        UnzippingFile,
        UnzipFileSuccess,
        UnzipFileFailed,
        ProcessingImage,
        ProcessImageSuccess,
        ProcessImageFailed,
        Success,
        Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
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

    /// `SUCCESS` and `FAILED` end a job.
    pub fn is_final(self) -> bool {
        matches!(self, Success | Failed)
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
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown job status {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip() {
        for s in JobStatus::ALL {
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
        for next in JobStatus::ALL {
            assert!(!Success.can_move_to(next));
            assert!(!Failed.can_move_to(next));
        }
        assert!(!New.can_move_to(Success));
        assert!(!ProcessingImage.can_move_to(UnzippingFile));
    }
}
