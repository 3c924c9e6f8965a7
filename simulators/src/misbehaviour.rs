//! Misbehaviour on demand: the ways real chargers deviate that evgate must
//! survive. All off by default.

use std::time::Duration;

/// The ways a simulated charger deviates from OCPP (`--misbehave`); all off by
/// default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Misbehaviour {
    /// Starts a reserved session without the reservation id (1.6
    /// StartTransaction, 2.0.1 TransactionEvent).
    pub omit_reservation_id: bool,
    /// Never reports the Reserved status.
    pub never_send_reserved: bool,
    /// Answers every ReserveNow with this status (`Occupied`, `Faulted`,
    /// `Rejected`, `Unavailable`, even `Accepted`) whatever the hardware says.
    pub reserve_answer: Option<String>,
    /// Answers CSMS calls this late.
    pub answer_delay: Option<Duration>,
    /// Never answers CSMS calls.
    pub never_answer: bool,
    /// Sends its calls without waiting for the previous answer.
    pub pipeline: bool,
    /// Sends one malformed frame after each boot.
    pub malformed_frame: bool,
    /// Timestamps without an offset (`2026-11-27T12:00:00`).
    pub naive_timestamps: bool,
}

impl Misbehaviour {
    /// Parses `--misbehave` switches: `omit-reservation-id`,
    /// `never-send-reserved`, `reserve-answer=Occupied`, `answer-late=5s`,
    /// `never-answer`, `pipeline`, `malformed-frame`, `naive-timestamps`.
    pub fn parse(switches: &[String]) -> Result<Self, String> {
        let mut m = Self::default();
        for s in switches {
            let (name, value) = s.split_once('=').unwrap_or((s, ""));
            match name {
                "omit-reservation-id" => m.omit_reservation_id = true,
                "never-send-reserved" => m.never_send_reserved = true,
                "reserve-answer" if !value.is_empty() => m.reserve_answer = Some(value.into()),
                "answer-late" => {
                    m.answer_delay = Some(
                        humantime::parse_duration(value)
                            .map_err(|e| format!("answer-late={value}: {e}"))?,
                    )
                }
                "never-answer" => m.never_answer = true,
                "pipeline" => m.pipeline = true,
                "malformed-frame" => m.malformed_frame = true,
                "naive-timestamps" => m.naive_timestamps = true,
                _ => return Err(format!("unknown misbehaviour {s:?}")),
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_parse_and_unknown_ones_are_named() {
        let m = Misbehaviour::parse(&[
            "pipeline".into(),
            "reserve-answer=Occupied".into(),
            "answer-late=2s".into(),
        ])
        .unwrap();
        assert!(m.pipeline);
        assert_eq!(m.reserve_answer.as_deref(), Some("Occupied"));
        assert_eq!(m.answer_delay, Some(Duration::from_secs(2)));
        assert!(
            Misbehaviour::parse(&["fly".into()])
                .unwrap_err()
                .contains("fly")
        );
    }
}
