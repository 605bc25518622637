//! Code generation. Assumes valid input (see `valid.rs`); names the runtime only through
//! `#krate::__private`, and every generated local is named `__steadfast_*` so it can neither
//! see nor shadow the user's names.
//!
//! The generated body is small: the policy, the guards, then a loop that asks the engine
//! before and after each attempt. The attempt is the body itself, in a non-`move` async
//! block (or closure, for a sync `fn`), so `&mut` arguments are re-borrowed each time.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Item, ReturnType, Type};

use crate::ast::{Body, RetryFn};
use crate::attr;
use crate::config::{Backoff, Config, HintAboveMax, Jitter, Level};
use crate::errors::Errors;
use crate::tokens::{first_span, local, located, parens_at, respan};
use crate::valid;

mod args;
mod builder;
mod hedge;
mod hooks;
pub(crate) mod stream;

/// Input: the attribute's arguments and the item under it.
/// Output: the function with its body wrapped in a retry loop; or, on any error, the item
/// unchanged plus every error, so callers of the function see no follow-on errors.
pub(crate) fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: RetryFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => return not_a_function(item, error),
    };
    let (args, mut errors) = attr::parse(args);
    let config = Config::of(args);
    valid::check(&config, &func, &mut errors);
    match errors.finish() {
        Ok(()) => generate(&config, func),
        Err(error) => with_error(func.into_token_stream(), error),
    }
}

fn with_error(mut tokens: TokenStream, error: syn::Error) -> TokenStream {
    tokens.extend(error.into_compile_error());
    tokens
}

/// The attribute is on something that is not a function: say what it is, at its keyword.
fn not_a_function(item: TokenStream, error: syn::Error) -> TokenStream {
    let found = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(i)) => Some((i.struct_token.span, "a struct")),
        Ok(Item::Enum(i)) => Some((i.enum_token.span, "an enum")),
        Ok(Item::Union(i)) => Some((i.union_token.span, "a union")),
        Ok(Item::Const(i)) => Some((i.const_token.span, "a const")),
        Ok(Item::Static(i)) => Some((i.static_token.span, "a static")),
        Ok(Item::Impl(i)) => Some((i.impl_token.span, "an impl block; put it on a method inside")),
        Ok(Item::Trait(i)) => Some((i.trait_token.span, "a trait; put it on a method with a body")),
        Ok(Item::Mod(i)) => Some((i.mod_token.span, "a module")),
        Ok(Item::Type(i)) => Some((i.type_token.span, "a type alias")),
        Ok(Item::Use(i)) => Some((i.use_token.span, "a `use`")),
        Ok(Item::ForeignMod(i)) => Some((i.abi.extern_token.span, "an `extern` block")),
        Ok(Item::Macro(i)) => Some((i.mac.path.span(), "a macro invocation")),
        _ => None,
    };
    let mut errors = Errors::default();
    match found {
        Some((span, what)) => errors.at(span, format!("`#[retry]` goes on a `fn` or `async fn`, not on {what}")),
        None => errors.at(
            error.span(),
            format!("`#[retry]` goes on a `fn` or `async fn`, and this item could not be read as one: {error}"),
        ),
    }
    with_error(item, errors.finish().err().unwrap_or(error))
}

/// What every part of the generated body refers to.
struct Ctx<'a> {
    config: &'a Config,
    /// `#krate::__private`.
    rt: TokenStream,
    is_async: bool,
    wrap: bool,
    /// The return type, `impl Trait` erased to `_`.
    ret: TokenStream,
    /// The first token of the return type: where a return type that is not a `Result` is
    /// reported, once.
    ret_span: Span,
}

fn generate(config: &Config, mut func: RetryFn) -> TokenStream {
    let krate = match &config.krate {
        Some(given) => given.value.to_token_stream(),
        None => quote!(::steadfast),
    };
    let Body::Block { inner, stmts, .. } = std::mem::replace(
        &mut func.body,
        Body::Block { brace: Default::default(), inner: Vec::new(), stmts: TokenStream::new() },
    ) else {
        // valid.rs rejects a missing body; emit the item as it was.
        return func.into_token_stream();
    };
    let mut ret: Type = match &func.sig.output {
        ReturnType::Type(_, ty) => (**ty).clone(),
        ReturnType::Default => syn::parse_quote!(()),
    };
    let ret_span = first_span(&ret);
    args::EraseImplTrait.visit_type_mut(&mut ret);
    let ctx = Ctx {
        config,
        // One `use` per function instead of the full path at every use: fewer tokens for
        // the macro to make and rustc to read.
        rt: local("rt").into_token_stream(),
        is_async: func.sig.asyncness.is_some(),
        wrap: config.wrap.is_some(),
        ret: respan(ret.to_token_stream(), ret_span),
        ret_span,
    };
    let rebinds = args::rebind_owned_args(&mut func.sig);
    let body = if stream::is_stream(&func.sig) {
        stream::body(&ctx, &func.sig, rebinds, stmts)
    } else if config.hedge.is_some() {
        hedge::body(&ctx, &func.sig, rebinds, stmts)
    } else {
        retry_loop(&ctx, &func, rebinds, stmts)
    };
    let RetryFn { attrs, vis, sig, .. } = func;
    let rt = &ctx.rt;
    quote! {
        #(#attrs)*
        #vis #sig {
            #(#inner)*
            use #krate::__private as #rt;
            #body
        }
    }
}

/// The statements replacing the body: the runtime's `__retry!` skeleton, given the parts
/// that are reported at the user's tokens (see `expansion.rs` in the runtime for the
/// sections).
fn retry_loop(ctx: &Ctx<'_>, func: &RetryFn, rebinds: Vec<TokenStream>, stmts: TokenStream) -> TokenStream {
    let Ctx { config, rt, ret, ret_span, .. } = ctx;
    let [call, timed_out, refusal, elapsed, attempt, spent] =
        ["call", "timed_out", "refusal", "elapsed", "attempt", "spent"].map(local);
    // Calls on these are spanned at the return type, exactly as `sig`'s declaration is, so
    // that rustc reports a return type that is not a `Result` once.
    let sig = local("sig");
    let result = local("result");
    // In the user's hygiene at the return type (no path here can trip a lint such as
    // `unused_qualifications`), so that rustc sees one error there and shows it once.
    let result_at_ret = respan(quote!(&#result), *ret_span);
    let at_ret = |method: &str, args: TokenStream| {
        let method = Ident::new(method, Span::call_site());
        let call = respan(quote!(#sig.#method), *ret_span);
        let mut args = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, args);
        args.set_span(*ret_span);
        quote!(#call #args)
    };
    let mode = if ctx.is_async { quote!(async) } else { quote!(blocking) };

    let (policy, policy_ref) = policy_section(ctx);
    // The one place the return type is read: a return type that is not a `Result` is
    // reported here, and every later use of `__sig` is already an error rustc stays quiet
    // about.
    let sig_fn = if ctx.wrap { quote!(wrapped_sig) } else { quote!(sig) };
    let sig_init = respan(quote!(#rt::#sig_fn::<#ret>()), *ret_span);

    let guards = match guards(ctx, &sig) {
        None => quote!(none),
        Some((decls, set)) => {
            // At the return type, like `__sig`, so that a return type that is not a
            // `Result` is reported once.
            let mut refused = at_ret("err", refused(ctx, &sig, &refusal));
            if config.fallback.is_some() {
                // A refusal is one of the ends a fallback takes.
                refused = quote!({ #spent = true; #refused });
            }
            quote!(some [#decls] [#set] [#refusal => #refused])
        }
    };

    let notify = config.notify.is_some();
    // The start is kept only where it is read: a deadline (perhaps in a run-time policy) or
    // `notify`.
    let start = if notify || config.deadline.is_some() || config.policy.is_some() {
        quote!(::core::option::Option<#rt::Instant>)
    } else {
        quote!(#rt::NoStart)
    };
    let name = func.sig.ident.to_string();
    let name = Literal::string(name.strip_prefix("r#").unwrap_or(&name));
    let call_init = match &config.timer {
        None => quote!(default [#start] #notify #name),
        Some(given) => {
            let timer = &given.value;
            let new = if ctx.is_async {
                located(quote!(#rt::timed::<#timer, _, _, _, #start>), first_span(timer))
            } else {
                located(quote!(#rt::blocking::<#timer, _, _, _, #start>), first_span(timer))
            };
            quote!(custom [#new] #notify #name)
        }
    };

    let events = match config.level() {
        Level::Off => quote!(off),
        level => {
            let level = Ident::new(
                match level {
                    Level::Error => "ERROR",
                    Level::Warn => "WARN",
                    Level::Info => "INFO",
                    Level::Debug => "DEBUG",
                    Level::Trace | Level::Off => "TRACE",
                },
                Span::call_site(),
            );
            let (names, values) = fields(ctx);
            quote!(on #name #level [#names] [#values])
        }
    };
    let hooks = hooks::hooks(ctx, &sig);

    let timed = config.timeout.is_some() || config.policy.is_some();
    let body = quote!(#(#rebinds)* #stmts);
    // For the attempts built here (the skeleton has its own for a plain one). Under `wrap`
    // at the return type, as `wrapped_sig` is, so that a return type of the wrong shape is
    // reported once.
    let never =
        if ctx.wrap { respan(quote!(#rt::never_wrapped::<#ret>()), *ret_span) } else { quote!(#rt::never::<#ret>()) };
    let attempt_body = quote! {
        if false {
            return #never;
        }
        #body
    };
    // A method that takes `self` by value gives it to every attempt, so a body that moves
    // out of it fails to compile ("value moved here, in previous iteration of loop"): the
    // attempt's block is made at the receiver, and the error points there, not at `async`.
    let by_value_self = func.sig.inputs.iter().find_map(|arg| match arg {
        syn::FnArg::Receiver(r) if r.reference.is_none() => Some(r.self_token.span),
        _ => None,
    });
    let (async_kw, bars) = match by_value_self {
        Some(at) => (located(quote!(async), at), located(quote!(||), at)),
        None => (quote!(async), quote!(||)),
    };
    let attempt_section = match (ctx.is_async, ctx.wrap, timed) {
        (true, false, false) if by_value_self.is_some() => {
            quote!(custom [let #result: #ret = #async_kw { #attempt_body }.await;])
        }
        (false, false, false) if by_value_self.is_some() => quote!(custom [
            #[allow(clippy::redundant_closure_call)]
            let #result: #ret = (#bars { #attempt_body })();
        ]),
        (_, false, false) => quote!(plain [#ret] {#body}),
        (true, false, true) => {
            // A timeout from `timeout = …` or from the policy: reported at that key.
            let at = config
                .timeout
                .as_ref()
                .map(|g| g.key.span())
                .or(config.policy.as_ref().map(|g| g.key.span()))
                .unwrap_or_else(Span::call_site);
            let convert = at_ret("err", located(quote!(#sig.elapsed(#elapsed)), at));
            quote!(custom [
                let (#result, #timed_out): (#ret, bool) = match #call.timed(#policy_ref, #async_kw { #attempt_body }).await {
                    ::core::result::Result::Ok(#result) => (#result, false),
                    ::core::result::Result::Err(#elapsed) => (#convert, true),
                };
            ])
        }
        (true, true, false) => {
            quote!(custom [let #attempt = ::core::result::Result::Ok(#async_kw { #attempt_body }.await);])
        }
        (true, true, true) => {
            quote!(custom [let #attempt = #call.timed(#policy_ref, #async_kw { #attempt_body }).await;])
        }
        (false, true, _) => quote!(custom [
            #[allow(clippy::redundant_closure_call)]
            let #attempt = ::core::result::Result::Ok((#bars { #attempt_body })());
        ]),
        // valid.rs rejects `timeout` on a sync fn, and `policy` on one gives no timeout.
        (false, false, true) => quote!(plain [#ret] {#body}),
    };
    let timed_out_value = if ctx.is_async && timed { timed_out.to_token_stream() } else { quote!(false) };
    let outcome = if ctx.wrap {
        quote!(#sig.outcome(&#attempt))
    } else {
        at_ret("outcome", quote!(#result_at_ret, #timed_out_value))
    };
    let mut give = if ctx.wrap { at_ret("result", attempt.to_token_stream()) } else { result.to_token_stream() };
    if config.fallback.is_some() {
        give = quote!({ #spent = #call.gave_up(); #give });
    }

    // What holds the attempt's result: the skeleton moves it into a place of its own once
    // the happy path is behind it, so that only the retry path keeps it in memory.
    let kept = if ctx.wrap { &attempt } else { &result };
    // The invocation at the fn's `async` (or its name): what the skeleton writes is
    // reported there, a missing timer first of all.
    let at = func.sig.asyncness.map_or_else(|| func.sig.ident.span(), |a| a.span);
    let invoke = located(quote!(#rt::retry!), at);
    let mut sections = proc_macro2::Group::new(
        proc_macro2::Delimiter::Brace,
        quote! {
            [#mode] [#call #sig #kept] [#policy] [#sig_init] [#call_init] [#guards]
            [#attempt_section] [[#outcome] [#hooks] [#events]] [#give]
        },
    );
    sections.set_span(at);
    if config.fallback.is_none() {
        return quote!(#invoke #sections);
    }
    // With a fallback the loop ends in a block of its own, and says whether it gave up.
    let end = local("end");
    let finish = hedge::finish(ctx, &end, ctx.is_async);
    let ended =
        if ctx.is_async { quote!(async { #invoke #sections }.await) } else { quote!((|| { #invoke #sections })()) };
    quote! {
        let mut #spent = false;
        #[allow(clippy::redundant_closure_call)]
        let #end: #ret = #ended;
        let #end = (#end, #spent);
        #finish
    }
}

/// A `fields(…)` list: its names, and a closure handing their values to the emitter, made
/// only when an event is emitted (the values borrow the arguments).
fn fields(ctx: &Ctx<'_>) -> (TokenStream, TokenStream) {
    let Ctx { config, rt, .. } = ctx;
    let Some(given) = &config.fields else { return (TokenStream::new(), quote!(#rt::no_fields)) };
    let names = given.value.iter().map(|f| Literal::string(&f.name.to_string()));
    let values = given.value.iter().map(|f| {
        let value = &f.value;
        let at = first_span(value);
        let wrap = match f.sigil {
            crate::attr::Sigil::Display => located(quote!(#rt::tracing::field::display), at),
            crate::attr::Sigil::Debug => located(quote!(#rt::tracing::field::debug), at),
            crate::attr::Sigil::Value => TokenStream::new(),
        };
        let borrow = located(quote!(&), at);
        quote!(::core::option::Option::Some(#borrow #wrap(#value) as &dyn #rt::tracing::Value))
    });
    let emit = local("emit");
    (
        quote!(#(#names)*),
        quote!(|#emit: &mut dyn ::core::ops::FnMut(&[::core::option::Option<&dyn #rt::tracing::Value>])| #emit(&[#(#values),*])),
    )
}

/// The policy section and how to name the policy: a `const` built from the literal keys
/// (defaults live in the runtime alone; its address costs the future nothing), or the
/// `policy = …` expression, borrowed for the call.
fn policy_section(ctx: &Ctx<'_>) -> (TokenStream, TokenStream) {
    let Ctx { config, rt, .. } = ctx;
    if let Some(given) = &config.policy {
        let expr = &given.value;
        let [value, policy] = ["policy_value", "policy"].map(local);
        let borrow = located(quote!(&), first_span(expr));
        let check = located(quote!(#rt::policy), first_span(expr));
        let arg = parens_at(located(value.to_token_stream(), first_span(expr)), first_span(expr));
        // `let x = &temp;` keeps a temporary such as `make_policy()` alive for the call.
        let decls = quote! {
            let #value = #borrow #expr;
            let #policy: &#rt::Policy = #check #arg;
        };
        return (quote!(expr [#decls] [#policy]), policy.into_token_stream());
    }
    let value = policy_setters(ctx);
    let name = Ident::new("__STEADFAST_POLICY", Span::call_site());
    (quote!(lit [#value]), quote!(&#name))
}

/// A duration as the runtime's `const fn duration(secs, nanos)` makes it.
fn duration(rt: &TokenStream, d: &std::time::Duration) -> TokenStream {
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    quote!(#rt::duration(#secs, #nanos))
}

/// `.attempts(…).backoff(…)…`: one setter per policy key given, after `Policy::new()`.
fn policy_setters(ctx: &Ctx<'_>) -> TokenStream {
    let Ctx { config, rt, .. } = ctx;
    let mut value = TokenStream::new();
    if let Some(given) = &config.attempts {
        let n = Literal::u32_unsuffixed(u32::try_from(given.value).unwrap_or(1));
        value.extend(quote!(.attempts(#n)));
    }
    if let Some(given) = &config.backoff {
        let variant = Ident::new(
            match given.value {
                Backoff::Exponential => "Exponential",
                Backoff::Fixed => "Fixed",
                Backoff::Linear => "Linear",
                Backoff::Fibonacci => "Fibonacci",
                Backoff::None => "None",
            },
            Span::call_site(),
        );
        value.extend(quote!(.backoff(#rt::Backoff::#variant)));
    }
    if let Some(given) = &config.jitter {
        let variant = Ident::new(
            match given.value {
                Jitter::Full => "Full",
                Jitter::Equal => "Equal",
                Jitter::Decorrelated => "Decorrelated",
                Jitter::None => "None",
            },
            Span::call_site(),
        );
        value.extend(quote!(.jitter(#rt::Jitter::#variant)));
    }
    if let Some(given) = &config.hint_above_max {
        let variant = Ident::new(
            match given.value {
                HintAboveMax::GiveUp => "GiveUp",
                HintAboveMax::Clamp => "Clamp",
                HintAboveMax::Ignore => "Ignore",
            },
            Span::call_site(),
        );
        value.extend(quote!(.hint_above_max(#rt::HintAboveMax::#variant)));
    }
    let durations = [
        ("min", &config.min),
        ("base", &config.base),
        ("max", &config.max),
        ("step", &config.step),
        ("deadline", &config.deadline),
        ("timeout", &config.timeout),
    ];
    for (setter, given) in durations {
        if let Some(given) = given {
            let setter = Ident::new(setter, Span::call_site());
            let d = duration(rt, &given.value);
            value.extend(quote!(.#setter(#d)));
        }
    }
    if let Some(given) = &config.factor {
        let f = Literal::f64_suffixed(given.value);
        value.extend(quote!(.factor(#f)));
    }
    value
}

/// The caller's error for a refusal: each guard's converted at its own key, where a
/// missing conversion (`From<Open>` for a breaker, `From<Unavailable>` for a throttle that
/// fails closed) is reported.
fn refused(ctx: &Ctx<'_>, sig: &Ident, refusal: &Ident) -> TokenStream {
    let Ctx { config, rt, .. } = ctx;
    let r = local("__r");
    let arms = [("Breaker", &config.breaker), ("Throttle", &config.throttle), ("Budget", &config.budget)].map(
        |(variant, given)| {
            let variant = Ident::new(variant, Span::call_site());
            let report = quote!(#sig.report(#r));
            let report = match given {
                Some(given) => located(report, given.key.span()),
                None => report,
            };
            quote!(#rt::Refused::#variant(#r) => #report,)
        },
    );
    quote!(match #refusal { #(#arms)* })
}

/// One `let` per guard key, evaluated once per call, and the `Guards` they fill.
///
/// A guard of the wrong kind is reported at the expression, and a sync `fn`'s guard that
/// cannot answer at once at its key.
fn guards(ctx: &Ctx<'_>, sig: &Ident) -> Option<(TokenStream, TokenStream)> {
    let Ctx { config, rt, .. } = ctx;
    let set = local("guards");
    if config.breaker.is_none() && config.throttle.is_none() && config.budget.is_none() {
        return None;
    }
    let mut decls = quote!(let #set = #rt::Guards::new(););
    let slots = [("breaker", &config.breaker), ("throttle", &config.throttle), ("budget", &config.budget)];
    for (slot, given) in slots {
        let Some(given) = given else { continue };
        let name = local(slot);
        let value = local(&format!("{slot}_value"));
        let expr = &given.value;
        let at_expr = first_span(expr);
        let borrow = located(quote!(&), at_expr);
        let key = given.key.span();
        // `let x = &temp;` keeps a temporary such as `client.breaker()` alive for the call.
        decls.extend(quote!(let #value = #borrow #expr;));
        // A guard of the wrong kind is reported at the expression.
        let kind = Ident::new(&format!("{}{}", &slot[..1].to_uppercase(), &slot[1..]), Span::call_site());
        let fits = located(quote!(#rt::fits::<#rt::#kind, _>), at_expr);
        let args = parens_at(value.into_token_stream(), at_expr);
        let fits = quote!(#fits #args);
        let checked = if ctx.is_async {
            fits
        } else {
            let immediate = located(quote!(#sig.immediate), key);
            quote!(#immediate(#fits))
        };
        decls.extend(quote!(let #name = #checked;));
        let method = Ident::new(slot, Span::call_site());
        decls.extend(quote!(let #set = #set.#method(#name);));
    }
    Some((decls, set.into_token_stream()))
}
