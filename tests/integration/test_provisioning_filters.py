"""Provisioning gives the notifier's custody durable its server-side filters, updating a
durable made with the old catch-all filter in place."""

from __future__ import annotations

import nats

from custody import subjects
from custody.bus.provisioning import consumer_config, provision_jetstream
from custody.runtime.nats_server import NatsServer


async def test_provisioning_narrows_the_notifiers_custody_durable(nats_server: NatsServer) -> None:
    """Provisioning a bus made with the old catch-all filter updates the live durable in
    place: the notifier is then handed only the four custody changes it acts on."""
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await provision_jetstream(js)
        spec = subjects.NOTIFIER_CUSTODY
        await js.delete_consumer(spec.stream, spec.durable)
        old = consumer_config(spec)
        old.filter_subjects, old.filter_subject = None, "custody.>"
        await js.add_consumer(spec.stream, old)
        await provision_jetstream(js)
        info = await js.consumer_info(spec.stream, spec.durable)
        assert sorted(info.config.filter_subjects or []) == sorted(
            f"custody.{c}.>" for c in subjects.NOTIFIER_CUSTODY_CHANGES
        )
        assert not info.config.filter_subject
        pending = info.num_pending
        esc = "esc-feedfacecafe"
        for change in ("opened", "offered", "acknowledged", "escalated", "followup"):
            await js.publish(subjects.custody_fact(change, esc), b"{}", stream=spec.stream)
        await js.publish(subjects.command_outcome(esc), b"{}", stream=spec.stream)
        info = await js.consumer_info(spec.stream, spec.durable)
        assert info.num_pending - pending == 2  # acknowledged and followup
    finally:
        await nc.close()
