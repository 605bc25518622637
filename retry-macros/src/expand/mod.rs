//! Code generation. Assumes valid input (see `valid.rs`); names the runtime only through
//! `#krate::__private`, and every generated local is `Span::mixed_site()` so it can neither
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
use crate::config::{Backoff, Config, Jitter, Level};
use crate::errors::Errors;
use crate::tokens::{first_span, local, located, parens_at, respan};
use crate::valid;

mod args;
mod hooks;

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
        rt: quote!(#krate::__private),
        is_async: func.sig.asyncness.is_some(),
        wrap: config.wrap.is_some(),
        ret: respan(ret.to_token_stream(), ret_span),
        ret_span,
    };
    let rebinds = args::rebind_owned_args(&mut func.sig);
    let body = retry_loop(&ctx, &func, rebinds, stmts);
    let RetryFn { attrs, vis, sig, .. } = func;
    quote! {
        #(#attrs)*
        #vis #sig {
            #(#inner)*
            #body
        }
    }
}

/// The statements replacing the body.
fn retry_loop(ctx: &Ctx<'_>, func: &RetryFn, rebinds: Vec<TokenStream>, stmts: TokenStream) -> TokenStream {
    let Ctx { config, rt, ret, ret_span, .. } = ctx;
    let [call, timed_out, refusal, elapsed, attempt, retry, step] =
        ["__call", "__timed_out", "__refusal", "__elapsed", "__attempt", "__retry", "__step"].map(local);
    // Not hygienic, so that calls on it can be spanned at the return type in the user's
    // hygiene, exactly as its declaration is: rustc then reports a return type that is not
    // a `Result` once.
    let sig = Ident::new("__steadfast_sig", Span::call_site());
    // Likewise, so that the attempt's result is reported at the return type with it.
    let result = Ident::new("__steadfast_result", Span::call_site());
    let result_at_ret = respan(quote!(&#result), *ret_span);
    let at_ret = |method: &str, args: TokenStream| {
        let method = Ident::new(method, Span::call_site());
        let call = respan(quote!(#sig.#method), *ret_span);
        let mut args = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, args);
        args.set_span(*ret_span);
        quote!(#call #args)
    };
    let callsites = Ident::new("__STEADFAST_CALLSITES", Span::call_site());

    let (policy_decl, policy) = policy_decl(ctx);
    // The one place the return type is read: a return type that is not a `Result` is
    // reported here, and every later use of `__sig` is already an error rustc stays quiet
    // about.
    let sig_fn = if ctx.wrap { quote!(wrapped_sig) } else { quote!(sig) };
    let sig_call = respan(quote!(#rt::#sig_fn::<#ret>()), *ret_span);
    let sig_decl = quote!(let #sig = #sig_call;);

    let (guard_decls, guards) = guards(ctx, &sig);
    // At the return type, like `__sig`, so that a return type that is not a `Result` is
    // reported once.
    let refused = at_ret("err", refused(ctx, &sig, &refusal));
    let notify = config.notify.is_some();
    // The start is kept only where it is read: a deadline (perhaps in a run-time policy) or
    // `notify`.
    let start = if notify || config.deadline.is_some() || config.policy.is_some() {
        quote!(::core::option::Option<#rt::Instant>)
    } else {
        quote!(#rt::NoStart)
    };
    let call_decl = if ctx.is_async {
        let timer = match &config.timer {
            Some(given) => given.value.to_token_stream(),
            None => quote!(#rt::DefaultTimer),
        };
        // Without a timer feature the default timer is none: reported at `async`.
        let at = match (&config.timer, &func.sig.asyncness) {
            (Some(given), _) => first_span(&given.value),
            (None, Some(asyncness)) => asyncness.span,
            (None, None) => Span::call_site(),
        };
        let new = respan(quote!(#rt::timed::<#timer, _, _, _, #start>), at);
        quote!(let mut #call = #new(#policy, #guards, #notify);)
    } else {
        let clock = match &config.timer {
            Some(given) => given.value.to_token_stream(),
            None => quote!(#rt::DefaultClock),
        };
        quote!(let mut #call = #rt::blocking::<#clock, _, _, _, #start>(#policy, #guards, #notify);)
    };

    let level = config.level();
    let callsites_decl = (level != Level::Off).then(|| {
        let name = func.sig.ident.to_string();
        let name = Literal::string(name.strip_prefix("r#").unwrap_or(&name));
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
        quote!(#rt::callsites!(#callsites, #name, #level);)
    });
    let events = match level {
        Level::Off => quote!(#rt::NoEvents),
        _ => {
            let event = local("__event");
            quote!(#sig.events(|#event| #rt::emit(&#callsites, #event, #rt::describe_error!(#event.error()), &[])))
        }
    };
    let hooks = hooks::hooks(ctx, &sig);

    // Fake return edge: pins the attempt's output type before `?` and `return` in the body
    // are checked (tracing-attributes does the same).
    let ret_var = local("__ret");
    let body_ty = if ctx.wrap { quote!(#rt::Body<#ret>) } else { ret.clone() };
    let attempt_body = quote! {
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::needless_return, clippy::let_unit_value, clippy::unreachable, clippy::empty_loop)]
        if false {
            let #ret_var: #body_ty = loop {};
            return #ret_var;
        }
        #(#rebinds)*
        #stmts
    };

    let timed = config.timeout.is_some() || config.policy.is_some();
    let (ready, attempt_stmt, after, give_back) = if ctx.is_async {
        let block = quote!(async { #attempt_body });
        let attempt_stmt = match (ctx.wrap, timed) {
            (false, false) => quote! {
                let #result: #ret = #block.await;
                let #timed_out = false;
            },
            (false, true) => {
                // A timeout from `timeout = …` or from the policy: reported at that key.
                let at = config
                    .timeout
                    .as_ref()
                    .map(|g| g.key.span())
                    .or(config.policy.as_ref().map(|g| g.key.span()))
                    .unwrap_or_else(Span::call_site);
                let convert = at_ret("err", located(quote!(#sig.elapsed(#elapsed)), at));
                quote! {
                    let (#result, #timed_out): (#ret, bool) = match #call.timed(#policy, #block).await {
                        ::core::result::Result::Ok(#result) => (#result, false),
                        ::core::result::Result::Err(#elapsed) => (#convert, true),
                    };
                }
            }
            (true, false) => quote! {
                let #attempt = ::core::result::Result::Ok(#block.await);
            },
            (true, true) => quote! {
                let #attempt = #call.timed(#policy, #block).await;
            },
        };
        let outcome = if ctx.wrap {
            quote!(#sig.outcome(&#attempt))
        } else {
            at_ret("outcome", quote!(#result_at_ret, #timed_out))
        };
        let guarded = config.breaker.is_some() || config.throttle.is_some() || config.budget.is_some();
        let after = if guarded {
            // Only the call is kept across the await for a guard's late verdict, not the
            // outcome and the hooks, which are made again.
            // The step is a `let` of its own, so that the hooks, temporaries, are dropped
            // before the await.
            quote!(loop {
                let #step = #call.after_now(#policy, #outcome, &mut #hooks, &mut #events);
                match #step {
                    ::core::option::Option::Some(#retry) => break #retry,
                    ::core::option::Option::None => #call.verdicts().await,
                }
            })
        } else {
            // Without a guard no verdict is ever on its way.
            quote!(#call.after_now(#policy, #outcome, &mut #hooks, &mut #events).unwrap_or(false))
        };
        (
            quote!(#call.ready().await),
            attempt_stmt,
            after,
            if ctx.wrap { quote!(#sig.result(#attempt)) } else { result.to_token_stream() },
        )
    } else {
        let attempt_stmt = if ctx.wrap {
            quote! {
                #[allow(clippy::redundant_closure_call)]
                let #attempt = ::core::result::Result::Ok((|| { #attempt_body })());
            }
        } else {
            quote! {
                #[allow(clippy::redundant_closure_call)]
                let #result: #ret = (|| { #attempt_body })();
                let #timed_out = false;
            }
        };
        let outcome = if ctx.wrap {
            quote!(#sig.outcome(&#attempt))
        } else {
            at_ret("outcome", quote!(#result_at_ret, #timed_out))
        };
        (
            quote!(#call.ready_blocking()),
            attempt_stmt,
            quote!(#call.after_blocking(#policy, #outcome, &mut #hooks, &mut #events)),
            if ctx.wrap { quote!(#sig.result(#attempt)) } else { result.to_token_stream() },
        )
    };

    quote! {
        #policy_decl
        #sig_decl
        #guard_decls
        #call_decl
        #callsites_decl
        loop {
            if let ::core::result::Result::Err(#refusal) = #ready {
                return #refused;
            }
            #attempt_stmt
            if !#after {
                return #give_back;
            }
        }
    }
}

/// The policy's declaration and how to name it: a `const` built from the literal keys
/// (defaults live in the runtime alone; its address costs the future nothing), or the
/// `policy = …` expression, borrowed for the call.
fn policy_decl(ctx: &Ctx<'_>) -> (TokenStream, TokenStream) {
    let Ctx { config, rt, .. } = ctx;
    if let Some(given) = &config.policy {
        let expr = &given.value;
        let [value, policy] = ["__policy_value", "__policy"].map(local);
        let borrow = respan(quote!(&), first_span(expr));
        let check = respan(quote!(#rt::policy), first_span(expr));
        // `let x = &temp;` keeps a temporary such as `make_policy()` alive for the call.
        let decl = quote! {
            let #value = #borrow #expr;
            let #policy: &#rt::Policy = #check(#value);
        };
        return (decl, policy.into_token_stream());
    }
    let duration = |d: &std::time::Duration| {
        let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
        quote!(#rt::duration(#secs, #nanos))
    };
    let mut value = quote!(#rt::Policy::new());
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
            let d = duration(&given.value);
            value.extend(quote!(.#setter(#d)));
        }
    }
    if let Some(given) = &config.factor {
        let f = Literal::f64_suffixed(given.value);
        value.extend(quote!(.factor(#f)));
    }
    let name = Ident::new("__STEADFAST_POLICY", Span::call_site());
    (quote!(const #name: #rt::Policy = #value;), quote!(&#name))
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
fn guards(ctx: &Ctx<'_>, sig: &Ident) -> (TokenStream, TokenStream) {
    let Ctx { config, rt, .. } = ctx;
    let set = Ident::new("__steadfast_guards", Span::call_site());
    let mut decls = quote!(let #set = #rt::Guards::new(););
    let slots = [("breaker", &config.breaker), ("throttle", &config.throttle), ("budget", &config.budget)];
    for (slot, given) in slots {
        let Some(given) = given else { continue };
        // Call-site, like `__steadfast_guards`: the argument of the call reported at the
        // expression.
        let name = Ident::new(&format!("__steadfast_{slot}"), Span::call_site());
        let expr = &given.value;
        let at_expr = first_span(expr);
        let borrow = respan(quote!(&), at_expr);
        let key = given.key.span();
        // A guard of the wrong kind is reported at the expression.
        let kind = Ident::new(&format!("{}{}", &slot[..1].to_uppercase(), &slot[1..]), Span::call_site());
        let fits = respan(quote!(#rt::fits::<#rt::#kind, _>), at_expr);
        let args = parens_at(quote!(#borrow #expr), at_expr);
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
    (decls, set.into_token_stream())
}
