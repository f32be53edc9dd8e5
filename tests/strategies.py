"""
Hypothesis strategies for logs of one pair.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from permission_networking import (
    Channel,
    Direction,
    Evidence,
    Interaction,
    InteractionKind,
)
from permission_networking._values import CONTACT_ONLY_KINDS
from timeline import DAY0


K = InteractionKind
PURPOSES = ["marketing", "sales", "group_promotion", "newsletter"]
GROUPS = ["g1", "g2"]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo"]
MUTUAL = frozenset({K.CONNECTION_ACCEPTED, K.CALL, K.MEETING, K.MET_IN_PERSON})


@st.composite
def interactions(  # noqa: PLR0913
    draw: st.DrawFn,
    index: int,
    *,
    kinds: list[InteractionKind] | None = None,
    outbound_only: bool = False,
    channels: list[Channel] | None = None,
    purposes: list[str] | None = None,
) -> Interaction:
    """
    Draw one valid interaction of the pair (ana, bo) with id ``i<index>``.

    *channels* and *purposes* narrow what is drawn, to reach rarer cases more often.
    """
    purposes = purposes or PURPOSES
    kind = draw(st.sampled_from(kinds or list(K)))
    if kind in CONTACT_ONLY_KINDS:
        direction = Direction.INBOUND
    elif outbound_only:
        direction = Direction.OUTBOUND
    else:
        direction = draw(st.sampled_from(list(Direction)))
    purpose = draw(st.sampled_from(purposes)) if kind is K.OPT_IN_GRANTED else None
    if kind in {K.OPT_OUT, K.OPT_IN_CONFIRMED}:
        purpose = draw(st.none() | st.sampled_from(purposes))
    group = None
    if kind.value.startswith("group_") or purpose == "group_promotion":
        group = draw(st.sampled_from(GROUPS))
    metadata: dict[str, str] = {}
    if kind is K.PROFILE_UPDATED:
        metadata["timezone"] = draw(st.sampled_from(ZONES))
    if kind is K.INTRODUCED and draw(st.booleans()):
        metadata["introducer"] = "Cy"
    if kind is K.PURCHASE and draw(st.booleans()):
        metadata["soft_opt_in"] = "offered"
    evidence = None
    if kind is K.OPT_IN_GRANTED and draw(st.booleans()):
        evidence = Evidence(draw(st.sampled_from(["web_form", "written"])))
    return Interaction(
        f"i{index:03d}",
        "ana",
        "bo",
        kind,
        DAY0 + timedelta(hours=draw(st.integers(0, 24 * 120))),
        direction=direction,
        channel=draw(st.sampled_from(channels or list(Channel))),
        purpose=purpose,
        group=group,
        evidence=evidence,
        metadata=metadata,
    )


@st.composite
def logs(  # noqa: PLR0913
    draw: st.DrawFn,
    *,
    max_size: int = 25,
    kinds: list[InteractionKind] | None = None,
    outbound_only: bool = False,
    channels: list[Channel] | None = None,
    purposes: list[str] | None = None,
) -> list[Interaction]:
    """
    Draw a log of one pair with unique ids; the keywords are as for `interactions`.
    """
    size = draw(st.integers(0, max_size))
    return [
        draw(
            interactions(
                i, kinds=kinds, outbound_only=outbound_only, channels=channels, purposes=purposes
            )
        )
        for i in range(size)
    ]
