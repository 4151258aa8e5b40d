"""Fake providers as real servers on 127.0.0.1: an SMTP server (aiosmtpd), HTTP SMS, chat and
webhook sinks that record every call and answer 429 or 500 on cue, and a callback client that
signs correctly or not. Every fake can `assert_nothing_more()`: each test claims the calls it
expected (`expect`), then checks that nothing else was sent."""
