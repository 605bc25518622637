//! The function's arguments across attempts: owned ones are cloned for each attempt, and
//! `impl Trait` is erased where the expansion names a type.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Pat, PatIdent, Signature, Type};

/// Input: the signature. Output: one `let` per owned argument that gives each attempt its
/// own clone (spanned on the argument's type, so a missing `Clone` is reported there).
/// References need none: a non-`move` block re-borrows them. `mut` moves from the
/// signature to the clone, and destructuring patterns move into the clone too.
pub(crate) fn rebind_owned_args(sig: &mut Signature) -> Vec<TokenStream> {
    let mut rebinds = Vec::new();
    for (i, input) in sig.inputs.iter_mut().enumerate() {
        let FnArg::Typed(arg) = input else { continue };
        if matches!(*arg.ty, Type::Reference(_)) {
            continue;
        }
        let ty = &*arg.ty;
        let annotation = if contains_impl_trait(ty) { quote!() } else { quote!(: #ty) };
        let span = ty.span();
        match &mut *arg.pat {
            Pat::Wild(_) => {}
            Pat::Ident(p) if p.by_ref.is_some() => {}
            Pat::Ident(p) if p.subpat.is_none() => {
                let mutability = p.mutability.take();
                let ident = &p.ident;
                rebinds.push(
                    quote_spanned!(span=> let #mutability #ident #annotation = ::core::clone::Clone::clone(&#ident);),
                );
            }
            pat => {
                let renamed = crate::tokens::local(&format!("arg{i}"));
                let original = std::mem::replace(
                    pat,
                    Pat::Ident(PatIdent {
                        attrs: Vec::new(),
                        by_ref: None,
                        mutability: None,
                        ident: renamed.clone(),
                        subpat: None,
                    }),
                );
                rebinds
                    .push(quote_spanned!(span=> let #original #annotation = ::core::clone::Clone::clone(&#renamed);));
            }
        }
    }
    rebinds
}

fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// `impl Trait` cannot annotate a `let`; `_` lets the body's value decide.
pub(crate) struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer { underscore_token: syn::Token![_](impl_trait.impl_token.span) });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}
