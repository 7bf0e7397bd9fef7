"""YouTube Data API v3 responses (channels.list, videos.list, playlistItems.list, search.list,
commentThreads.list, comments.list) → events.

One response page in, one Outcome out; each item of `items` is a record, an `error` response one
skipped record. Responses carry no retrieval time, so observations need --observed-at.
"""

from __future__ import annotations

from .core import (
    Outcome,
    count,
    guarded,
    hashtags_in,
    ident,
    interaction_event,
    list_of,
    map_by_shape,
    metrics_event,
    need_time,
    post_event,
    rejected,
    sigfig_precision,
    skipped,
    snapshot_event,
    utc_time,
)

PLATFORM = "youtube"
# YouTube shows subscriber counts rounded down to three significant figures (since 2019).
SUBSCRIBER_SIGFIGS = 3


def _obj(value) -> dict:
    return value if isinstance(value, dict) else {}


def map_channel(item: dict, observed_at: str | None) -> Outcome:
    out = Outcome()
    cid = ident(item.get("id"))
    if cid is None:
        out.reject("missing_field", "channel without id")
        return out
    stats, snippet = _obj(item.get("statistics")), _obj(item.get("snippet"))
    if stats.get("hiddenSubscriberCount") is True or "subscriberCount" not in stats:
        out.skip("hidden_subscriber_count" if stats else "no_statistics", cid)
        return out
    followers = count(stats.get("subscriberCount"))
    country = (
        snippet.get("country")
        if isinstance(snippet.get("country"), str) and len(snippet["country"]) == 2
        else None
    )
    lang = snippet.get("defaultLanguage") if isinstance(snippet.get("defaultLanguage"), str) else None
    handle = snippet.get("customUrl") if isinstance(snippet.get("customUrl"), str) else None
    out.add(
        [
            snapshot_event(
                PLATFORM,
                cid,
                need_time(observed_at, f"YouTube channel {cid}"),
                followers,
                followers_precision=sigfig_precision(followers, SUBSCRIBER_SIGFIGS),
                media_count=count(stats.get("videoCount")),
                handle=handle,
                display_name=ident(snippet.get("title")),
                country=country and country.upper(),
                language=lang,
            )
        ]
    )
    return out


def _video_post(video_id: str, channel: str, published: str, snippet: dict, item: dict | None = None) -> dict:
    lang = snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage")
    # part=paidProductPlacementDetails: the creator declared a paid promotion.
    paid = _obj(_obj(item).get("paidProductPlacementDetails")).get("hasPaidProductPlacement")
    return post_event(
        PLATFORM,
        video_id,
        channel,
        utc_time(published),
        media_type="video",
        sponsored=paid if isinstance(paid, bool) else None,
        hashtags=hashtags_in(snippet.get("title"), snippet.get("description")),
        language=lang if isinstance(lang, str) and lang and lang != "zxx" else None,
    )


def map_video(item: dict, observed_at: str | None) -> Outcome:
    out = Outcome()
    vid, snippet, stats = ident(item.get("id")), _obj(item.get("snippet")), _obj(item.get("statistics"))
    channel = ident(snippet.get("channelId"))
    if vid is None or channel is None or not snippet.get("publishedAt"):
        out.reject(
            "missing_field",
            f"video {vid}: id, snippet.channelId and snippet.publishedAt are needed "
            "(request part=snippet,statistics)",
        )
        return out
    if snippet.get("liveBroadcastContent") == "upcoming":
        # a scheduled stream: its publishedAt is when it was scheduled, and nobody has watched it yet
        out.skip("upcoming_broadcast", vid)
        return out
    events = [_video_post(vid, channel, snippet["publishedAt"], snippet, item)]
    if stats:
        # likeCount is absent when the owner hides likes, commentCount when comments are off: absent, not 0.
        metrics = metrics_event(
            PLATFORM,
            vid,
            channel,
            need_time(observed_at, f"YouTube video {vid}"),
            views=count(stats.get("viewCount")),
            likes=count(stats.get("likeCount")),
            comments=count(stats.get("commentCount")),
        )
        if metrics:
            events.append(metrics)
    out.add(events)
    return out


def _owner(snippet: dict) -> str | None:
    """The video's channel: `videoOwnerChannelId`, or, in responses from before that field existed,
    the playlist's own channel when the playlist is that channel's uploads list (UC… → UU…)."""
    owner = ident(snippet.get("videoOwnerChannelId"))
    channel, playlist = ident(snippet.get("channelId")), ident(snippet.get("playlistId"))
    if owner is None and channel and playlist and channel.startswith("UC") and playlist == "UU" + channel[2:]:
        return channel
    return owner


def map_playlist_item(item: dict) -> Outcome:
    out = Outcome()
    snippet, details = _obj(item.get("snippet")), _obj(item.get("contentDetails"))
    vid = ident(details.get("videoId")) or ident(_obj(snippet.get("resourceId")).get("videoId"))
    owner, published = _owner(snippet), details.get("videoPublishedAt")
    if vid is None:
        out.reject("missing_field", "playlist item without videoId")
    elif not details:
        # snippet.publishedAt is when the video was added to the playlist, not when it was posted.
        out.skip("no_content_details", f"{vid}: request part=snippet,contentDetails")
    elif not published:
        # Private and deleted videos stay in playlists as "Private video" / "Deleted video", unpublished.
        out.skip("private_or_deleted_video", vid)
    elif owner is None:
        out.skip("video_owner_unknown", f"{vid}: no snippet.videoOwnerChannelId")
    else:
        out.add([_video_post(vid, owner, published, snippet)])
    return out


def map_search_result(item: dict) -> Outcome:
    out = Outcome()
    rid, snippet = _obj(item.get("id")), _obj(item.get("snippet"))
    kind = rid.get("kind")
    if kind != "youtube#video":
        out.skip("search_result_not_a_video", str(kind))
        return out
    vid, channel = ident(rid.get("videoId")), ident(snippet.get("channelId"))
    if vid is None or channel is None or not snippet.get("publishedAt"):
        out.reject("missing_field", f"search result {vid}: videoId, channelId and publishedAt are needed")
        return out
    if snippet.get("liveBroadcastContent") == "upcoming":
        out.skip("upcoming_broadcast", vid)  # scheduled, not yet published
        return out
    out.add([_video_post(vid, channel, snippet["publishedAt"], snippet)])
    return out


def _comment_event(comment: dict, video: str | None, channel: str | None) -> dict | None:
    """A youtube#comment on `video` of `channel` -> a `comment` by its author; None when the comment
    does not name its video, channel, author or time (a comment on a channel, a deleted author)."""
    cid, snippet = ident(comment.get("id")), _obj(comment.get("snippet"))
    video = video or ident(snippet.get("videoId"))
    channel = channel or ident(snippet.get("channelId"))
    author = ident(_obj(snippet.get("authorChannelId")).get("value"))
    if not (cid and video and channel and author and snippet.get("publishedAt")):
        return None
    return interaction_event(
        PLATFORM, "comment", (cid,), utc_time(snippet["publishedAt"]), channel, video, author
    )


def map_comment_thread(item: dict) -> Outcome:
    """commentThreads.list: the top-level comment and the replies the response holds (part=replies
    gives up to five; comments.list gives the rest), each a `comment` on the thread's video by its
    author, timed by its publishedAt. The thread's `channelId` is the video's channel."""
    out = Outcome()
    snippet = _obj(item.get("snippet"))
    video, channel = ident(snippet.get("videoId")), ident(snippet.get("channelId"))
    if video is None:
        out.skip("comment_not_on_a_video", str(item.get("id"))[:80])
        return out
    comments = [_obj(snippet.get("topLevelComment"))] + [
        _obj(c) for c in list_of(_obj(item.get("replies")).get("comments"))
    ]
    events = [_comment_event(c, video, channel) for c in comments]
    if not any(events):
        out.reject(
            "missing_field", f"comment thread {item.get('id')}: no comment with author, time and channel"
        )
        return out
    out.add([e for e in events if e])
    return out


def map_comment(item: dict) -> Outcome:
    """comments.list (replies of a thread, part=snippet): a `comment` when it names its video."""
    out = Outcome()
    event = _comment_event(item, None, None)
    if event is None:
        out.skip("comment_without_video_or_author", str(item.get("id"))[:80])
    else:
        out.add([event])
    return out


_ITEM_MAPPERS = {
    "youtube#channel": lambda item, t: map_channel(item, t),
    "youtube#video": lambda item, t: map_video(item, t),
    "youtube#playlistItem": lambda item, t: map_playlist_item(item),
    "youtube#searchResult": lambda item, t: map_search_result(item),
    "youtube#commentThread": lambda item, t: map_comment_thread(item),
    "youtube#comment": lambda item, t: map_comment(item),
}
# The kind of a list response's items, where it is not the list's kind without "ListResponse".
_LIST_ITEM_KINDS = {"youtube#searchListResponse": "youtube#searchResult"}


def _infer_kind(item: dict, list_kind: str) -> str | None:
    """The kind of an item saved without one (a request with `fields=items(id,statistics)` drops
    `kind` and `etag`): the list response's kind when it has one, else the item's shape."""
    if list_kind.endswith("ListResponse"):
        return _LIST_ITEM_KINDS.get(list_kind, list_kind.removesuffix("ListResponse"))
    stats, snippet, details = (
        _obj(item.get("statistics")),
        _obj(item.get("snippet")),
        _obj(item.get("contentDetails")),
    )
    if isinstance(item.get("id"), dict):
        return "youtube#searchResult"
    if {"subscriberCount", "hiddenSubscriberCount", "videoCount"} & set(stats):
        return "youtube#channel"
    if "videoPublishedAt" in details or "resourceId" in snippet or "playlistId" in snippet:
        return "youtube#playlistItem"
    if (
        snippet.get("channelId")
        and snippet.get("publishedAt")
        and (
            {"likeCount", "commentCount", "favoriteCount", "viewCount"} & set(stats)
            or "categoryId" in snippet
        )
    ):
        return "youtube#video"
    return None


def map_item(item, observed_at: str | None, list_kind: str = "") -> Outcome:
    if not isinstance(item, dict):
        return rejected("invalid_type", "item is not an object")
    kind = item.get("kind") if "kind" in item else _infer_kind(item, list_kind)
    mapper = _ITEM_MAPPERS.get(kind) if isinstance(kind, str) else None
    if mapper is None:
        return skipped("unsupported_kind", str(item.get("kind"))[:80])
    return guarded(mapper, item, observed_at)


def _map_error(page: dict, observed_at: str | None) -> Outcome:
    err = page["error"]
    if isinstance(err, str):  # OAuth and proxy errors: {"error": "invalid_grant", "error_description": …}
        return skipped("api_error", f"{err}: {page.get('error_description', '')}"[:200])
    reasons = [e.get("reason") for e in list_of(err.get("errors")) if isinstance(e, dict)]
    return skipped(
        f"api_error:{reasons[0] if reasons and isinstance(reasons[0], str) else err.get('code')}",
        str(err.get("message", ""))[:200],
    )


def _map_items(page: dict, observed_at: str | None) -> Outcome:
    items = page["items"]
    if not isinstance(items, list):
        return rejected("invalid_type", "items is not a list")
    out = Outcome()
    for item in items:
        out.merge(map_item(item, observed_at, _kind(page)))
    return out


def _kind(page: dict) -> str:
    return page["kind"] if isinstance(page.get("kind"), str) else ""


_SHAPES = (
    (lambda page: isinstance(page.get("error"), dict | str), _map_error),
    (lambda page: "items" in page, _map_items),
    # YouTube leaves `items` out of an empty list response (a terminated channel, nothing found).
    (lambda page: _kind(page).endswith("ListResponse"), lambda page, observed_at: Outcome()),
    # A single resource saved on its own (an insert/update response, one item copied out).
    (lambda page: _kind(page).startswith("youtube#"), map_item),
)


def map_page(page, observed_at: str | None = None) -> Outcome:
    return map_by_shape(page, observed_at, _SHAPES, "no items")
