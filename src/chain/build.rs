//! Building the lineage graph from an ingest: the three passes described in the module doc
//! of [`super`] (issuing calls create and link their credentials, then every call is
//! attributed), the resolution of a key as used to its session, and the notes on missing
//! accounts.

use super::alive::UseridSessions;
use super::expiry::SHORTEST_LIFE;
use super::facts::{fill_from_use, session_facts};
use super::unanswered::{unanswered_session, Unanswered};
use super::*;
use crate::ingest::IssuingField as F;

/// An owned string field as a node's [`Text`].
fn text(s: &Option<String>) -> Option<Text> {
    s.as_deref().map(Text::from)
}

fn is_issuing_name(name: &str) -> bool {
    STS_ISSUERS.contains(&name) || name == "CreateAccessKey"
}

/// The id of a session node: `KEY@ISSUE_TIME`, built in one allocation.
fn session_id(key: &str, t: i64) -> String {
    let mut id = String::with_capacity(key.len() + 21);
    id.push_str(key);
    id.push('@');
    crate::time::push_iso(&mut id, t);
    id
}

impl SessionGraph {
    /// Builds the graph from an ingest's (sorted, unique) events.
    pub fn build(ing: &Ingest) -> SessionGraph {
        Self::build_with(ing, &ing.details, &ing.creds, || {})
    }

    /// [`SessionGraph::build`] for a run that has no further use for what only the graph
    /// reads: the issuing calls and the per-credential facts are taken out of `ing` (left
    /// empty) and each is freed as soon as its pass is done (the calls once the issuance edges
    /// are drawn, before the pass over every call creates the credentials seen only in use;
    /// the facts once every call is attributed). At 5 GB of trail that lowers the peak by
    /// about 400 MB.
    ///
    /// With `--cache`, a run whose event table came from (or went to) the cache takes the
    /// graph an earlier run built from the same table, and keeps the one it builds.
    ///
    /// # Errors
    /// A table taken from the cache whose graph inputs cannot be read back.
    pub fn build_releasing(ing: &mut Ingest) -> anyhow::Result<SessionGraph> {
        let (g, built) = Self::build_or_load(ing)?;
        if built {
            ing.save_derived("graph", |out| super::stored::encode_into(&g, out));
            crate::diag::mark("graph: kept in the cache");
        }
        Ok(g)
    }

    /// [`SessionGraph::build_releasing`] for a command that only reads the graph: a graph
    /// built here is kept in the cache on a thread of its own while the command goes on
    /// (encoding it took as long as `blast` and `plan` after it, at 1 GB of trail).
    ///
    /// # Errors
    /// As [`SessionGraph::build_releasing`].
    pub fn build_shared(ing: &mut Ingest) -> anyhow::Result<std::sync::Arc<SessionGraph>> {
        let (g, built) = Self::build_or_load(ing)?;
        let g = std::sync::Arc::new(g);
        if built {
            let shared = g.clone();
            ing.save_derived_beside("graph", move |out| {
                super::stored::encode_into(&shared, out);
                crate::diag::mark("graph: encoded for the cache");
            });
        }
        Ok(g)
    }

    /// The graph an earlier run kept, or one built here (`true`).
    fn build_or_load(ing: &mut Ingest) -> anyhow::Result<(SessionGraph, bool)> {
        // A run just read, whose table goes to the cache: it is written while the graph is
        // built (below), or, if the graph is taken from the cache, now.
        let pending = ing.take_pending_save();
        if let Some(g) = ing.load_derived("graph").and_then(|b| {
            let _kept = crate::arena::Keep::begin();
            let (file, start) = b.file();
            super::stored::decode_kept(file, start, ing.stubs.len(), &|part| b.release(part))
        }) {
            if let Some(run) = pending {
                run.write(ing, &ing.details, &ing.creds);
            }
            ing.drop_graph_inputs();
            return Ok((g, false));
        }
        let (details, creds) = ing.take_graph_inputs()?;
        let g = match pending {
            None => Self::build_with(ing, Box::new(details), Box::new(creds), || {}),
            Some(run) => Self::build_while_saving(ing, *run, details, creds),
        };
        crate::diag::mark("graph: built");
        Ok((g, true))
    }

    /// Builds the graph on this thread while another keeps the run's table in the cache: the
    /// graph's passes are on one core, and encoding the run's parts was a fifth of a run over
    /// a cache after new log files arrived. Both only read the table.
    ///
    /// What extends the run is kept first, before the graph starts: its event ids and digests
    /// are freed (110 MB at 5 GB of trail) before the first pass allocates, rather than beside
    /// it, where they were part of the peak of a run that fills the cache. Then the writer
    /// encodes the issuing calls and credential facts while the graph's first two passes run
    /// (the calls and facts are shared, each freed once both are done with it), and the table
    /// only once those passes are done and the issuing calls freed, so that its buffers do not
    /// add to the graph's peak (at 5 GB of trail, encoding the table beside the first two
    /// passes took a run extending the cache from 0.90 to 1.02 GB).
    fn build_while_saving(
        ing: &Ingest,
        mut run: crate::ingest::RunSave,
        details: Vec<IssuingCall>,
        creds: Creds,
    ) -> SessionGraph {
        run.write_growable();
        crate::diag::release_free_memory();
        let (details, creds) = (std::sync::Arc::new(details), std::sync::Arc::new(creds));
        let (go, table_turn) = std::sync::mpsc::channel::<()>();
        let (d, c) = (details.clone(), creds.clone());
        let (fd, fc) = (details.clone(), creds.clone());
        run.keep_beside(
            move |run| {
                run.write_inputs(d, c);
                // What encoding them freed goes back now, not once the graph's second pass
                // is done: it would add to the graph's peak.
                crate::diag::release_free_memory();
                // Told, or the graph's thread is gone: either way the table's turn.
                let _ = table_turn.recv();
                run.write_table(ing);
            },
            // No thread: the run is kept first, as without the graph.
            move |run| run.write(ing, &*fd, &*fc),
            move || {
                Self::build_with(ing, details, creds, move || {
                    let _ = go.send(());
                })
            },
        )
    }

    /// The three passes; `issuing_done` is called once the issuing calls are freed.
    fn build_with(
        ing: &Ingest,
        events: impl std::ops::Deref<Target = Vec<IssuingCall>>,
        creds: impl std::ops::Deref<Target = Creds>,
        issuing_done: impl FnOnce(),
    ) -> SessionGraph {
        let mut g =
            SessionGraph { event_node: vec![NO_NODE; ing.stubs.len()], ..Default::default() };
        // About one node per credential (in use, or issued): reserved once rather than grown
        // by doubling, page-faulting every copy (untouched capacity costs no memory). The
        // hash indexes are not: a table reserved larger is touched all over as it fills
        // (+10 MB peak at 1 GB of trail).
        g.nodes.reserve(creds.len() + events.len());
        let unanswered = Self::link_issuing(&mut g, ing, &events);
        let launches = g.launches(ing, &events);
        let tokens = g.signin_tokens(ing, &events);
        g.keep_unnamed_keys(&events);
        g.keep_renames_and_deletions(&events);
        g.note_makings_over_taken_names();
        crate::diag::mark("graph: edges drawn");
        // The issuing calls are not read again: an owned copy is freed here (a shared one
        // once the run's writer is done with it too).
        drop(events);
        crate::diag::mark("graph: issuing calls freed");
        crate::diag::release_free_memory();
        crate::diag::mark("graph: issuing events linked");
        issuing_done();
        Self::attribute_calls(g, ing, creds, unanswered, (launches, tokens))
    }

    /// Passes 1 and 2: a credential for every successful issuing call, an edge from the
    /// credential (or outside issuer) that made it.
    fn link_issuing(g: &mut SessionGraph, ing: &Ingest, events: &[IssuingCall]) -> Vec<Unanswered> {
        // Whether each call issues credentials: asked in both passes, worked out once.
        let issuing_name: Vec<bool> = events.iter().map(|e| is_issuing_name(e.name())).collect();
        // Copies of one cross-account call, by sharedEventID.
        let mut shared: StrMap<&str, Vec<usize>> = StrMap::default();
        for (i, e) in events.iter().enumerate() {
            if issuing_name[i] {
                if let Some(s) = e.get(F::SharedEventId) {
                    shared.entry(s).or_default().push(i);
                }
            }
        }

        // Pass 1: children of successful issuing events.
        // (event index, child node)
        let mut issuing: Vec<(usize, usize)> = Vec::new();
        // Successful role assumptions whose response (the key issued) is not in the record.
        let mut unanswered_calls: Vec<(usize, (bool, String))> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if !issuing_name[i] {
                continue;
            }
            if e.failed() {
                g.attempts.push(Attempt {
                    event_name: e.name().to_string(),
                    event_id: e.id().to_string(),
                    event_time: e.time,
                    caller_key: e.get(F::AccessKeyId).map(String::from),
                    caller_arn: e.get(F::Arn).map(String::from),
                    target: e
                        .get(F::RoleArn)
                        .map(String::from)
                        .or_else(|| e.get(F::RequestUserName).map(|u| format!("user/{u}")))
                        .or_else(|| e.get(F::ErrorMessage).and_then(super::target_from_error)),
                    error_code: e.get(F::ErrorCode).map(String::from),
                    file: ing.file_of(e.origin).to_string(),
                });
                continue;
            }
            if let Some(child) = g.issue_child(e) {
                issuing.push((i, child));
            } else if let Some(arn) = unanswered_session(e) {
                unanswered_calls.push((i, arn));
            }
        }

        crate::diag::mark("graph: issued credentials made");
        // Sessions by aws:userid (AROA…:session), for the role owner's copies whose caller
        // account's logs are missing (inferred links).
        let mut by_userid: StrMap<String, UseridSessions> = StrMap::default();
        for (n, node) in g.nodes.iter().enumerate() {
            if let (NodeKind::Session, Some(u)) = (node.kind, &node.userid) {
                by_userid.entry(u.clone()).or_default().push(n, node.issued_at, node.expires_at);
            }
        }
        by_userid.values_mut().for_each(UseridSessions::seal);
        // Pass 2: link each issuing event to its parent; merge cross-account copies (F3).
        // The copy of each sharedEventID that draws the edge: the first that carries the
        // caller's key and succeeded, else the first that succeeded. Worked out once per id,
        // not once per copy: a forged trail can give one id any number of copies.
        let drawing: StrMap<&str, Option<usize>> = shared
            .iter()
            .map(|(&sid, copies)| {
                let ok = |j: &usize| !events[*j].failed();
                let keyed =
                    copies.iter().find(|&j| ok(j) && events[*j].get(F::AccessKeyId).is_some());
                (sid, keyed.or_else(|| copies.iter().find(|&j| ok(j))).copied())
            })
            .collect();
        // (child, issue time) → the callers' credentials that drew an edge to it, by their key.
        let mut edge_of_child_event: FxMap<(usize, i64), Vec<usize>> = FxMap::default();
        // (child, eventID) of each record drawn with its caller's key.
        let mut keyed_records: rustc_hash::FxHashSet<(usize, &str)> = Default::default();
        for &(i, child) in &issuing {
            let e = &events[i];
            // Prefer the copy that carries the caller's key; skip the others as evidence. Not
            // a record of the drawing copy's own event (same eventID: the caller's and the
            // role owner's copies have two): the two disagree on the caller (a copy naming a
            // clean key planted beside the owner's, keeping its sharedEventID, was chosen to
            // draw and took the session out of the trust rule), so it is drawn too.
            if let Some(&Some(d)) = e.get(F::SharedEventId).and_then(|sid| drawing.get(sid)) {
                if d != i && events[d].id() != e.id() {
                    continue;
                }
            }
            if let Some(drawn) = edge_of_child_event.get(&(child, e.time)) {
                // Another record of the session with another caller's key (one key id issued
                // to two callers, F16, or a record planted before the real one): either may
                // have issued it, so each is drawn as its issuer (`twin.rs`).
                let copy = keyed_records.contains(&(child, e.id()));
                let Some(parent) = g.second_caller(e, drawn, copy) else { continue };
                if e.get(F::AccessKeyId).is_some() {
                    keyed_records.insert((child, e.id()));
                }
                g.draw(ing, e, (parent, child), Vec::new(), false);
                edge_of_child_event.entry((child, e.time)).or_default().push(parent);
                continue;
            }
            let callers = g.inferred_callers(e, &by_userid);
            let wide = callers.is_none().then(|| e.get(F::PrincipalId)).flatten();
            let callers = callers.unwrap_or_default();
            let inferred = !callers.is_empty();
            let parents = if inferred { callers } else { g.parents_of(e) };
            let other_copies: Vec<String> = e
                .get(F::SharedEventId)
                .and_then(|s| shared.get(s))
                .map(|v| {
                    v.iter().filter(|&&j| j != i).map(|&j| events[j].id().to_string()).collect()
                })
                .unwrap_or_default();
            if e.name() == "GetFederationToken" && g.nodes[child].user_arn.is_none() {
                g.nodes[child].user_arn = g.nodes[parents[0]].principal_arn.clone();
            }
            let drawn = parents.len();
            let keyed = if inferred || e.get(F::AccessKeyId).is_none() {
                Vec::new()
            } else {
                parents.clone()
            };
            for parent in parents {
                g.draw(ing, e, (parent, child), other_copies.clone(), inferred);
            }
            // A role owner's copy: its caller's credentials seen only in use are known after
            // pass 3 (`link_user_callers`).
            if let (None, Some(pid)) = (wide, g.owner_copy_caller(e)) {
                g.user_callers.push((g.edges.len() - drawn, drawn, pid.to_string()));
            }
            if let Some(pid) = wide {
                g.defer_wide(pid, e.time, child, e.id());
                // Any session of the id may have made it, alive or not.
                let account = e.get(F::AccountId).unwrap_or_default();
                let hop = g.hop(child, (pid, account), (e.name(), e.id(), e.time));
                g.hops_by_id.push(hop);
            }
            if !keyed.is_empty() {
                keyed_records.insert((child, e.id()));
            }
            edge_of_child_event.insert((child, e.time), keyed);
        }
        // Only what root itself minted is root-derived (SPEC §9, F11): nothing flows down.

        // The callers of the role assumptions without a response, for pass 3 to link to the
        // session they made once it is known from its use (one copy per sharedEventID).
        let mut unanswered = Vec::with_capacity(unanswered_calls.len());
        for (i, arn) in unanswered_calls {
            let e = &events[i];
            if let Some(&Some(d)) = e.get(F::SharedEventId).and_then(|sid| drawing.get(sid)) {
                if d != i {
                    continue;
                }
            }
            // Several callers: each is linked; too many: the taint decides (`super::wide`).
            let callers = g.inferred_callers(e, &by_userid);
            let wide = callers.is_none();
            let owner = g.owner_copy_caller(e).map(|pid| (pid.to_string(), wide));
            let parents = match callers.unwrap_or_default() {
                none if none.is_empty() => vec![g.parent_of(e)],
                some => some,
            };
            let mut unseen =
                Self::blank(super::unanswered::unseen_id(e.time, e.id()), NodeKind::Session);
            unseen.issued_at = Some(e.time);
            unseen.issued_by_event = Some(Text::from(e.name()));
            session_facts(&mut unseen, e);
            unanswered.push(Unanswered {
                parents,
                owner,
                unseen,
                session_arn: arn,
                time: e.time,
                event_name: e.name().to_string(),
                event_id: e.id().to_string(),
                file: ing.file_of(e.origin).to_string(),
            });
        }

        // Users made or taken over, and roles whose trust policy was set, with the credential
        // that did it.
        for e in events {
            let role = ROLE_GRANTS.contains(&e.name());
            if (!role && !USER_GRANTS.contains(&e.name())) || e.failed() {
                continue;
            }
            let name = if role {
                e.get(F::RequestRoleName)
            } else {
                e.get(F::RequestUserName)
                    .or_else(|| e.get(F::ResponseUserName))
                    .or_else(|| e.get(F::LoginProfileUser))
            };
            // A login profile set with no user name by root (an AssumeRoot session) is root's
            // own password: the grant of the root user, named "" (the taint's root rule).
            // Nor by an IAM user: its own (IAM's default for a login profile call without
            // `userName`, as for CreateAccessKey); a record without its response names the
            // user nowhere else, and the password the attacker set on it was missed
            // (the blast's persistence entries name the user the same way).
            let own = name.is_none()
                && !role
                && e.name() != "CreateUser"
                && e.get(F::Kind) == Some("IAMUser");
            let name = match name {
                Some(n) => n.to_string(),
                // A user made whose record names it nowhere (neither request nor response: a
                // damaged or converted record) is still made: the attacker's, under a name no
                // IAM user can have, which the taint marks unknown (`super::UNNAMED_USER`).
                None if e.name() == "CreateUser" => format!("{}{}", super::UNNAMED_USER, e.id()),
                None if !role && e.get(F::Kind) == Some("Root") => String::new(),
                // Nor does any other grant that succeeded: the role whose trust policy was set
                // (or that was made), or the user whose password a session (not the user
                // itself) set, is one the record does not say (a review: such records by the
                // attacker's sessions were dropped, the role's outside session and the user's
                // console sign-in not followed, verify OK). The plan cannot act on it: it is
                // left to a NOT CUT item, which verify fails on.
                None => match e.get(F::UserName).filter(|_| own) {
                    Some(n) => n.to_string(),
                    None => format!("{}{}", super::UNNAMED_USER, e.id()),
                },
            };
            let grant = g.grant_of(e, name, |p, account, name| {
                if role {
                    format!("arn:{p}:iam::{account}:role/{name}")
                } else if name.is_empty() {
                    format!("arn:{p}:iam::{account}:root")
                } else {
                    e.get(F::UserArn)
                        .or_else(|| own.then(|| e.get(F::Arn)).flatten())
                        .map(String::from)
                        .unwrap_or_else(|| format!("arn:{p}:iam::{account}:user/{name}"))
                }
            });
            if role {
                g.role_grants.push(grant);
            } else {
                g.user_grants.push(grant);
            }
        }
        unanswered
    }

    /// Pass 3 and the per-credential figures.
    fn attribute_calls(
        mut g: SessionGraph,
        ing: &Ingest,
        creds: impl std::ops::Deref<Target = Creds>,
        unanswered: Vec<Unanswered>,
        (launches, tokens): (super::launch::Pending, Vec<super::signin::SigninToken>),
    ) -> SessionGraph {
        // Pass 3: attribute every call to its credential.
        // A credential resolves the same way for all its calls, except a temporary key seen
        // without creationDate (resolved by time): cache the rest. Whether a credential is
        // cached depends on its `(key, created)` only, so a call found in the cache is one
        // to take from it (its key's text is not looked at).
        //
        // The cache is an array by key (the key's string number): the node of the first
        // `(key, created)` cached for that key, and its `created`; only a key cached with a
        // second `created` goes to a hash map. Almost every key has one, so almost every call
        // is one array read instead of a hash probe: at 5 GB of trail, 4 million calls over
        // 566,000 credentials, whose hash map (24 MB) missed the processor's cache on nearly
        // every probe. The array, 12 bytes per string, is smaller than that map was.
        let strings = ing.strings.len();
        let mut first_created: Vec<i64> = vec![crate::ingest::NO_TIME; strings];
        let mut first_node: Vec<u32> = vec![NO_NODE; strings];
        let mut others: crate::ingest::FxMap<(u32, i64), u32> = Default::default();
        for (i, st) in ing.stubs.iter().enumerate() {
            let k = st.key as usize;
            let Some(&f) = first_node.get(k) else { continue }; // no key (or not a string)
            let n = if f != NO_NODE && first_created[k] == st.created {
                f
            } else if let Some(&n) = others.get(&(st.key, st.created)) {
                n
            } else {
                let Some(key) = ing.str(st.key) else { continue };
                let cacheable = st.created().is_some() || !is_temporary_key(key);
                let mut ident =
                    creds.get(&(st.key, st.created)).map(|f| ing.use_of(f)).unwrap_or_default();
                // Resolved call by call (no creationDate): by its own caller ARN, which tells
                // two sessions of one key apart (`twin.rs`).
                if !cacheable {
                    match ing.str(st.principal) {
                        Some(arn) if arn.starts_with("arn:") => ident.arn = Some(arn),
                        Some(id) => (ident.arn, ident.principal_id) = (None, Some(id)),
                        None => {}
                    }
                }
                let n = g.resolve(key, st.created(), st.time, &ident) as u32;
                fill_from_use(&mut g.nodes[n as usize], &ident);
                if cacheable {
                    if f == NO_NODE {
                        first_created[k] = st.created;
                        first_node[k] = n;
                    } else {
                        others.insert((st.key, st.created), n);
                    }
                }
                n
            };
            g.event_node[i] = n;
        }
        drop((first_created, first_node, others));
        g.route_twins(ing);
        g.dispute_root_keys(ing);
        for n in std::mem::take(&mut g.disputed) {
            g.nodes[n as usize].userid = None;
        }
        // Not read again: an owned copy of the facts is freed here.
        drop(creds);
        crate::diag::release_free_memory();
        crate::diag::mark("graph: calls resolved");
        // The per-credential figures are worked out from the calls' nodes alone, on the other
        // core while the last links and the notes are made (neither reads them).
        let event_node = std::mem::take(&mut g.event_node);
        let n = g.nodes.len();
        let (tally, ()) = rayon::join(
            || Self::tally_calls(&event_node, ing, n),
            || {
                let (linked, unseen) = g.link_unanswered(unanswered);
                g.link_launches(launches);
                let mut more = unseen;
                more.extend(g.link_user_callers());
                more.extend(g.link_skewed());
                more.extend(g.link_signin_tokens(tokens, ing, &event_node));
                let login_ips = g.add_login_sessions(ing);
                more.extend(g.link_switched(ing, &event_node, &login_ips));
                more.extend(g.finish_wide());
                g.add_notes(ing, &linked, more);
            },
        );
        g.event_node = event_node;
        g.apply_tally(tally);
        let contradicted = g.drop_contradicted_deletions(ing);
        g.notes.extend(contradicted);
        crate::diag::mark("graph: calls attributed");
        g.parents =
            g.first_edges().into_iter().map(|k| k.map(|k| (g.edge_nodes[k].0, k))).collect();
        // Only resolving reads it.
        g.by_issue = Default::default();
        g
    }

    /// An edge `(parent, child)` for the issuing call `e`.
    fn draw(
        &mut self,
        ing: &Ingest,
        e: &IssuingCall,
        (parent, child): (usize, usize),
        other_copies: Vec<String>,
        inferred: bool,
    ) {
        self.edges.push(Edge {
            parent: self.nodes[parent].id.clone(),
            child: self.nodes[child].id.clone(),
            event_name: e.name().to_string(),
            event_id: e.id().to_string(),
            event_time: e.time,
            file: ing.file_of(e.origin).to_string(),
            other_copies,
            inferred,
        });
        self.edge_nodes.push((parent, child));
    }

    pub(super) fn add(&mut self, node: Node) -> usize {
        let hid = h(&node.id);
        self.add_hashed(node, hid)
    }

    /// [`SessionGraph::add`] of a node whose id hash (`h(&node.id)`) is known.
    fn add_hashed(&mut self, node: Node, hid: u128) -> usize {
        let idx = self.nodes.len();
        self.by_id.insert(hid, idx as u32);
        if node.kind == NodeKind::Session {
            if let Some(k) = &node.access_key_id {
                let key = h(k);
                let list = self.sessions_by_key.entry(key).or_default();
                list.push(idx as u32);
                if list.len() > INDEXED_FROM {
                    let index = self.by_issue.entry(key).or_default();
                    if index.is_empty() {
                        for &n in &list[..list.len() - 1] {
                            index.add(n, self.nodes[n as usize].issued_at);
                        }
                    }
                    index.add(idx as u32, node.issued_at);
                }
            }
        }
        self.nodes.push(node);
        idx
    }

    /// The first session of a key (in the order they were made) issued within `slack`
    /// seconds of `t`.
    fn session_issued_near(&self, key: &str, t: i64, slack: i64) -> Option<usize> {
        let key = h(key);
        if let Some(index) = self.by_issue.get(&key) {
            return index.first_near(t, slack);
        }
        self.sessions_of_hash(key)
            .find(|&n| self.nodes[n].issued_at.is_some_and(|x| (x - t).abs() <= slack))
    }

    /// The latest session of a key issued at or before `time` (of those issued in one second,
    /// the last made); when none was, the last made with no issue time.
    pub(super) fn session_latest_at(&self, key: &str, time: i64) -> Option<usize> {
        let key = h(key);
        if let Some(index) = self.by_issue.get(&key) {
            return index.latest_at(time);
        }
        self.sessions_of_hash(key)
            .filter(|&n| self.nodes[n].issued_at.is_none_or(|t| t <= time))
            .max_by_key(|&n| self.nodes[n].issued_at)
    }

    /// The session nodes of an access key id, in creation order.
    pub(super) fn sessions_of(&self, key: &str) -> impl Iterator<Item = usize> + '_ {
        self.sessions_of_hash(h(key))
    }

    /// [`SessionGraph::sessions_of`] the key whose hash is `key`.
    pub(super) fn sessions_of_hash(&self, key: u128) -> impl Iterator<Item = usize> + '_ {
        use rayon::iter::Either;
        match &self.stored {
            Some(s) => Either::Left(s.sessions(key).into_iter().flatten().map(|n| n as usize)),
            None => Either::Right(
                self.sessions_by_key.get(&key).into_iter().flatten().map(|&n| n as usize),
            ),
        }
    }

    pub(super) fn blank(id: String, kind: NodeKind) -> Node {
        Node {
            id,
            kind,
            access_key_id: None,
            principal_arn: None,
            principal_type: None,
            account_id: None,
            issued_at: None,
            expires_at: None,
            orphan: false,
            events: 0,
            denied: 0,
            first_seen: None,
            last_seen: None,
            issued_by_event: None,
            role_arn: None,
            userid: None,
            user_name: None,
            source_ips: Vec::new(),
            root_derived: false,
            issue_seen: false,
            user_arn: None,
            source_identity: None,
        }
    }

    /// Creates (or finds) the credential an issuing event minted.
    fn issue_child(&mut self, e: &IssuingCall) -> Option<usize> {
        if e.name() == "CreateAccessKey" {
            let key = e.get(F::CreatedKeyId)?;
            let idx = self.long_term(key);
            let acct = e.get(F::RecipientAccount).or_else(|| e.get(F::AccountId)).map(String::from);
            let user = e
                .get(F::AccessKeyUser)
                .or_else(|| e.get(F::RequestUserName))
                .or_else(|| e.get(F::UserName))
                .map(String::from);
            if let (Some(u), Some(prev)) = (&user, &self.nodes[idx].user_name) {
                let prev_acct = self.nodes[idx].account_id.as_deref();
                let other_acct =
                    matches!((prev_acct, acct.as_deref()), (Some(p), Some(a)) if p != a);
                if !prev.eq_ignore_ascii_case(u) || other_acct {
                    // A key id belongs to one user: one of the two records is false (F16
                    // does not apply to long-term keys), and which one the logs cannot tell.
                    let a =
                        acct.clone().or_else(|| prev_acct.map(str::to_string)).unwrap_or_default();
                    let p = super::unnamed::call_partition(e);
                    self.key_owner_claims.push(UserGrant {
                        user_arn: format!("arn:{p}:iam::{a}:user/{u}"),
                        account_id: a,
                        user_name: u.clone(),
                        event_name: e.name().to_string(),
                        event_id: e.id().to_string(),
                        time: e.time,
                        by: idx,
                    });
                }
            }
            let n = &mut self.nodes[idx];
            n.issued_at = Some(e.access_key_created.unwrap_or(e.time));
            n.issued_by_event = Some(Text::from(e.name()));
            if user.is_none() && e.get(F::Kind) == Some("Root") {
                // Root creating a key for itself: a new root key (F11).
                n.principal_arn = e.get(F::Arn).map(String::from);
                n.principal_type = Some("Root".into());
                n.root_derived = true;
            }
            if n.principal_arn.is_none() {
                if let (Some(a), Some(u)) = (&acct, &user) {
                    let p = super::unnamed::call_partition(e);
                    n.principal_arn = Some(format!("arn:{p}:iam::{a}:user/{u}"));
                    n.principal_type = Some("IAMUser".into());
                }
            }
            n.account_id = n.account_id.clone().or(text(&acct));
            n.user_name = n.user_name.clone().or(text(&user));
            return Some(idx);
        }
        let key = e.get(F::CredentialsKey)?;
        let earlier = self.session_issued_near(key, e.time, 0);
        let mut n = Self::blank(session_id(key, e.time), NodeKind::Session);
        n.access_key_id = Some(Text::from(key));
        n.issued_at = Some(e.time);
        // A stated end sooner than STS allows (before the call, a year misread) is not believed
        // (`session_expiry`), nor used to bound the session's calls; the graph's notes say so.
        n.expires_at = e.credentials_expiration;
        let unbelieved = n.expires_at.filter(|&x| x < e.time.saturating_add(SHORTEST_LIFE));
        if unbelieved.is_some() {
            n.expires_at = None;
        }
        n.issued_by_event = Some(Text::from(e.name()));
        session_facts(&mut n, e);
        if let Some(first) = earlier {
            // Both copies of a cross-account call name the same key and second: same node.
            // Records that disagree: `twin.rs`.
            if let Some(same) = self.same_session(first, &n, e) {
                return Some(same);
            }
        }
        if let Some(x) = unbelieved {
            self.notes.push(super::expiry::unbelieved(&n.id, x, e.get(F::Id)));
        }
        Some(match earlier {
            Some(first) => self.add_twin(first, n, e),
            None => self.add(n),
        })
    }

    fn long_term(&mut self, key: &str) -> usize {
        let hid = h(key);
        if let Some(&i) = self.by_id.get(&hid) {
            return i as usize;
        }
        let mut n = Self::blank(key.to_string(), NodeKind::LongTermKey);
        n.access_key_id = Some(Text::from(key));
        self.add_hashed(n, hid)
    }

    fn external(
        &mut self,
        id: String,
        kind: NodeKind,
        principal: Option<String>,
        ptype: &str,
    ) -> usize {
        if let Some(i) = self.node(&id) {
            return i;
        }
        let mut n = Self::blank(id, kind);
        n.principal_arn = principal;
        n.principal_type = Some(Text::from(ptype));
        self.add(n)
    }

    /// The credential (or outside issuer) that made an issuing call.
    pub(super) fn parent_of(&mut self, e: &IssuingCall) -> usize {
        if let Some(k) = e.get(F::AccessKeyId) {
            return self.resolve(k, e.creation_date, e.time, &e.as_use());
        }
        match e.get(F::Kind) {
            Some("SAMLUser") | Some("WebIdentityUser") => {
                let saml = e.get(F::Kind) == Some("SAMLUser");
                let provider = e
                    .get(F::IdentityProvider)
                    .or_else(|| e.get(F::Provider))
                    .or_else(|| e.get(F::PrincipalArn))
                    .unwrap_or("unknown-provider");
                let subject = e
                    .get(F::Subject)
                    .or_else(|| e.get(F::UserName))
                    .or_else(|| e.get(F::PrincipalId))
                    .unwrap_or("unknown-subject");
                let nid = format!("{}:{provider}:{subject}", if saml { "saml" } else { "oidc" });
                self.external(
                    nid,
                    NodeKind::ExternalIdentity,
                    Some(format!("{provider}:{subject}")),
                    e.get(F::Kind).unwrap_or(""),
                )
            }
            Some("IAMUser") if e.get(F::Arn).is_some_and(|a| crate::chain::arn_is(a, "user/")) => {
                self.keyless_user(e)
            }
            // Root's console calls carry no key either (F17): root's own session, as a user's.
            Some("Root") if e.get(F::Arn).is_some_and(|a| a.ends_with(":root")) => {
                self.keyless_user(e)
            }
            Some("AWSAccount") => {
                let acct = e.get(F::AccountId).unwrap_or("unknown");
                let idx = self.external(
                    format!("account:{acct}"),
                    NodeKind::ExternalIdentity,
                    e.get(F::PrincipalId).map(String::from),
                    "AWSAccount",
                );
                self.nodes[idx].account_id = Some(Text::from(acct));
                idx
            }
            _ => {
                let svc = e
                    .get(F::InvokedBy)
                    .or_else(|| e.get(F::SourceIp).filter(|s| s.ends_with(".amazonaws.com")))
                    .or_else(|| e.get(F::Kind))
                    .unwrap_or("unknown")
                    .to_string();
                self.external(format!("service:{svc}"), NodeKind::Service, Some(svc), "AWSService")
            }
        }
    }

    /// The credential node of a key as used in `e` (creating an orphan when never issued).
    fn resolve(&mut self, key: &str, created: Option<i64>, time: i64, ident: &Use) -> usize {
        if !is_temporary_key(key) {
            // Long-term keys (and, in anonymised data, keys of unknown shape).
            let idx = self.long_term(key);
            if is_long_term_key(key) || self.nodes[idx].principal_arn.is_none() {
                fill_from_use(&mut self.nodes[idx], ident);
            }
            return idx;
        }

        let pick = match created {
            // The session's creationDate is its issuing event's second (allow clock skew); of
            // two sessions of the key so issued, the one whose principal the call names.
            Some(c) => self.session_as(h(key), c, 2, ident.arn.or(ident.principal_id)),
            // No creationDate: the latest session of that key issued before the call (of those
            // whose principal the call names, when one is).
            None => self.session_latest_as(key, time, ident.arn.or(ident.principal_id)),
        };
        if let Some(n) = pick {
            // `aws:TokenIssueTime` is the creationDate its calls carry (F5), not the issuing
            // call's `eventTime`: when STS logged the call a second or two before, the later
            // is taken, or a deny at "newest issue time + 1 s" (F14) would be judged to match
            // a session it misses.
            if let (Some(c), Some(t)) = (created, self.nodes[n].issued_at) {
                if c > t {
                    self.nodes[n].issued_at = Some(c);
                }
                self.nodes[n].issue_seen = true;
            }
            return n;
        }
        // Orphan: no issuing event in the logs (F2).
        let id = match created {
            Some(c) => session_id(key, c),
            None => format!("{key}@unknown"),
        };
        // Each id is hashed once: for the lookups and for the index.
        let mut hid = h(&id);
        let mut found = self.by_id.get(&hid).map(|&n| n as usize);
        let mut id = id;
        if let (Some(arn), Some(n)) = (ident.arn, found) {
            if self.nodes[n].principal_arn.as_deref().is_some_and(|p| p != arn) {
                id = format!("{id}@{arn}");
                hid = h(&id);
                found = self.by_id.get(&hid).map(|&n| n as usize);
            }
        }
        if let Some(n) = found {
            return n;
        }
        let mut n = Self::blank(id, NodeKind::Session);
        n.access_key_id = Some(Text::from(key));
        n.issued_at = created;
        n.issue_seen = created.is_some();
        // The calls come in time order: this is its first (the figures, later, agree), which
        // `link_skewed` reads when the `creationDate` is missing or fits no session.
        n.first_seen = Some(time);
        n.orphan = true;
        n.issued_by_event = if ident.from_console {
            Some("console sign-in".into())
        } else if ident.ec2_instance {
            Some("EC2 instance profile".into())
        } else {
            None
        };
        n.root_derived = ident.kind == Some("Root");
        let idx = self.add_hashed(n, hid);
        fill_from_use(&mut self.nodes[idx], ident);
        idx
    }

    /// The graph's notes; `unanswered`: the event ids of the role assumptions without a
    /// response that [`SessionGraph::link_unanswered`] linked.
    /// The notes on the graph, with `more` (those a link already worked out).
    fn add_notes(&mut self, ing: &Ingest, unanswered: &BTreeSet<String>, more: Vec<String>) {
        let accounts = ing.accounts();
        // With the notes made while the calls were read (`self.notes`).
        let mut notes: BTreeSet<String> =
            more.into_iter().chain(std::mem::take(&mut self.notes)).collect();
        for n in self.nodes.iter().filter(|n| n.id.starts_with("account:")) {
            let (acct, who) = (
                n.account_id.as_deref().unwrap_or("?"),
                n.principal_arn.as_deref().unwrap_or("unknown principal"),
            );
            notes.insert(if accounts.contains(acct) {
                format!("the trail holds only the role owner's copy of calls by {who} in account {acct}, whose logs are in the trail: the caller's own copy is not (a region or trail that was not recorded, F15); the sessions it issued are linked, as inferred, to the credentials with that caller id alive at the call, where the trail has them (one issued to a caller id whose sessions the trail shows over by then is a session to check)")
            } else {
                format!("chain stops at account {acct}: sessions were issued to a caller in that account ({who}) whose logs are not in the trail; add that account's logs to continue the chain")
            });
        }
        // Sessions whose own account's logs are missing, whether or not some of their calls
        // are visible from another account's side: one note per account, naming it as the
        // logs to collect next.
        let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for n in &self.nodes {
            if n.kind != NodeKind::Session {
                continue;
            }
            if let Some(a) = n.account_id.as_deref() {
                if !accounts.contains(a) {
                    missing.entry(a).or_default().push(n.id.as_str());
                }
            }
        }
        for (a, mut ids) in missing {
            ids.sort_unstable();
            let shown: Vec<&str> = ids.iter().take(5).copied().collect();
            let more =
                if ids.len() > 5 { format!(" and {} more", ids.len() - 5) } else { String::new() };
            notes.insert(format!(
                "logs of account {a} are not in the trail: {} session(s) live there ({}{more}); only their calls into accounts whose logs are given are visible; collect AWSLogs/{a}/ next",
                ids.len(),
                shown.join(", ")
            ));
        }
        for e in self.edges.iter().filter(|e| e.inferred && unanswered.contains(&e.event_id)) {
            notes.insert(format!(
                "inferred link: {} was issued to {} (event {}), whose record has no response (no key issued): the session is the one orphan with the call's role and session name whose creationDate is within 2 s of the call. Inferred links add taint and never remove a deny",
                e.child, e.parent, e.event_id
            ));
        }
        for e in self.edges.iter().filter(|e| e.inferred && !unanswered.contains(&e.event_id)) {
            notes.insert(format!(
                "inferred link: {} was issued to {} (event {}), seen only in the role owner's copy of the call; its caller's aws:userid matches that session, alive at the time (when several match, each is linked: the session is tainted if any of them is). Inferred links add taint and never remove a deny",
                e.child, e.parent, e.event_id
            ));
        }
        for list in self.sessions_by_key.values() {
            if list.len() > 1 {
                let list: Vec<usize> = list.iter().map(|&n| n as usize).collect();
                let key = self.nodes[list[0]].access_key_id.as_deref().unwrap_or("?");
                let mut ids: Vec<&str> = list.iter().map(|&n| self.nodes[n].id.as_str()).collect();
                ids.sort_unstable();
                notes.insert(format!(
                    "access key {key} was issued or used for {} different sessions (temporary key ids can repeat, F16): {}",
                    list.len(),
                    ids.join(", ")
                ));
            }
        }
        self.notes = notes.into_iter().collect();
    }
}
